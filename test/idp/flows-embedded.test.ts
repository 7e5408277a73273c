/** The OIDC flows over the embedded (SQLite file) store. */
import { runFlowSuite } from './flows.suite.ts';

runFlowSuite('embedded', async () => ({ choice: { kind: 'embedded' }, cleanup: async () => undefined }));
