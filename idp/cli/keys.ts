/**
 * `porta keys rotate`: adds a new signing key (it signs from now on) and a new cookie key, and keeps
 * the previous signing keys published until every token they signed has expired. Running IdP
 * processes hear of it through the store's broadcast and reload their keys.
 *
 * The lead's `cli/porta.ts` calls `runKeysCommand(args, { config, out })`.
 */
import type { PortaConfig } from '../../config/schema/index.ts';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { rotateKeys, keyRetentionSeconds } from '../provider/keys.ts';

export const KEYS_USAGE = `Usage: porta keys rotate
  Adds a new signing key and cookie key; old signing keys stay published until their tokens expire.
`;

export interface KeysCommandDeps {
  config: PortaConfig;
  out: (line: string) => void;
  /** Stores to use (tests); default: opened from the config and closed afterwards. */
  stores?: Stores;
}

/** Returns an exit code: 0 done, 2 bad usage. */
export async function runKeysCommand(args: string[], deps: KeysCommandDeps): Promise<number> {
  const [action] = args;
  if (action !== 'rotate') {
    deps.out(KEYS_USAGE);
    return 2;
  }
  const stores = deps.stores ?? (await createStores({ ...deps.config.store, dataDir: deps.config.dataDir }));
  try {
    const retainSeconds = keyRetentionSeconds(deps.config);
    const result = await rotateKeys(stores, { retainSeconds });
    deps.out(`New signing key ${result.signingKid} signs from now on.`);
    deps.out(`Published keys: ${result.publishedKids.join(', ')} (replaced keys stay published for ${retainSeconds} s).`);
    return 0;
  } finally {
    if (!deps.stores) await stores.close();
  }
}
