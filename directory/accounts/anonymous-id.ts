/**
 * The anonymous id under which a deleted account's usage stays in the ledger (billing totals must not
 * change when someone leaves): `anon-<hex SHA-256 of secret ":" accountId>`. Without the secret the id
 * cannot be linked back to the account. The secret comes from `directory.anonymousIdSecret` or, when
 * unset, is generated once and kept in the store (`directory.secrets/anonymous-id`).
 */
import { randomToken, sha256Hex } from '../../kernel/ids.ts';
import type { DocumentStore } from '../../store/types.ts';

const SECRETS = 'directory.secrets';

export function anonymousId(secret: string, accountId: string): string {
  return `anon-${sha256Hex(`${secret}:${accountId}`)}`;
}

export async function anonymousIdSecret(documents: DocumentStore, configured?: string): Promise<string> {
  if (configured) return configured;
  const existing = await documents.get<{ secret: string }>(SECRETS, 'anonymous-id');
  if (existing) return existing.secret;
  const secret = randomToken();
  // Compare-and-set: if another process generated one at the same moment, theirs wins.
  if ((await documents.writeVersioned(SECRETS, 'anonymous-id', { secret }, 0)) !== undefined) return secret;
  const winner = await documents.get<{ secret: string }>(SECRETS, 'anonymous-id');
  if (!winner) throw new Error('could not read the anonymous id secret');
  return winner.secret;
}
