import { describe, it, expect } from '@jest/globals';
import { hashPassword, verifyPassword } from '../../directory/password-hash.ts';
import { createStores } from '../../store/index.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { runDirectoryContract, CONTRACT_SERVICES } from '../contracts/directory.contract.ts';

runDirectoryContract('embedded (SQLite store)', async () => {
  const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  return { directory: new EmbeddedDirectory({ documents: stores.documents, services: CONTRACT_SERVICES }), teardown: () => stores.close() };
});

describe('embedded directory specifics', () => {
  it('lets exactly one of several concurrent registrations claim a username', async () => {
    const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
    const dir = new EmbeddedDirectory({ documents: stores.documents });
    const results = await Promise.allSettled(
      [0, 1, 2, 3].map((i) => dir.createAccount({ username: 'racer', email: `racer${i}@example.org`, name: 'R', password: 'long enough pw' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await dir.searchAccounts({})).total).toBe(1);
    await stores.close();
  });

  it('hashes with argon2id at the OWASP parameters and never stores the password', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword(stored, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(stored, 'wrong')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });
});
