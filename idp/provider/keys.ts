/**
 * Signing keys and cookie keys, kept in the DocumentStore so that every IdP process signs with the
 * same key and publishes the same JWKS. Generated at first start; `rotateKeys` puts a fresh key in
 * front (it signs from then on) and keeps the previous ones published until every token they signed
 * has expired, so relying parties never meet a token whose key vanished from the JWKS.
 */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { DocumentStore, Stores } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import { randomToken } from '../../kernel/ids.ts';
import type { PortaConfig } from '../../config/schema/index.ts';

const COLLECTION = 'idp-keys';
const SIGNING = 'signing';
const COOKIES = 'cookies';
/** Cookie keys kept for verifying cookies signed before a rotation. */
const COOKIE_KEYS_KEPT = 3;
/** Published on rotation so that running IdP processes reload their keys. */
export const KEYS_CHANNEL = 'idp:keys';

/** A private RSA JWK as stored (and as oidc-provider's `jwks.keys` wants it). */
export type SigningJwk = JsonWebKey & { kid: string; alg: 'RS256'; use: 'sig'; kty: 'RSA' };

interface StoredSigningKey {
  jwk: SigningJwk;
  createdAt: number;
  /** Once set: the key no longer signs, and is dropped from the JWKS after this time (ms). */
  retireAt?: number;
}

interface SigningDoc {
  keys: StoredSigningKey[];
}

interface CookieDoc {
  keys: string[];
}

export function generateSigningKey(): SigningJwk {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kty: 'RSA', kid: randomToken(12), alg: 'RS256', use: 'sig' };
}

/** Reads a document, or creates it with `make()` if absent; safe when several processes start at once. */
async function getOrCreate<T>(documents: DocumentStore, id: string, make: () => T): Promise<T> {
  const existing = await documents.get<T>(COLLECTION, id);
  if (existing) return existing;
  const created = make();
  const version = await documents.writeVersioned(COLLECTION, id, created, 0);
  if (version !== undefined) return created;
  // Another process created it first: use theirs.
  const theirs = await documents.get<T>(COLLECTION, id);
  if (!theirs) throw new Error(`IdP key document ${id} vanished while being created`);
  return theirs;
}

/** The private JWKs to configure, signing key first; retired keys past their time are left out. */
export async function loadSigningKeys(documents: DocumentStore, clock: Clock = systemClock): Promise<SigningJwk[]> {
  const doc = await getOrCreate<SigningDoc>(documents, SIGNING, () => ({
    keys: [{ jwk: generateSigningKey(), createdAt: clock.now() }],
  }));
  const now = clock.now();
  return doc.keys.filter((k) => k.retireAt === undefined || k.retireAt > now).map((k) => k.jwk);
}

/** Keys that sign the IdP's cookies: from config if given, else generated once and stored. */
export async function loadCookieKeys(documents: DocumentStore, configured?: readonly string[]): Promise<string[]> {
  if (configured && configured.length > 0) return [...configured];
  const doc = await getOrCreate<CookieDoc>(documents, COOKIES, () => ({ keys: [randomToken(32)] }));
  return doc.keys;
}

/** Retention when the caller does not say: the default ID token lifetime plus a margin. */
const DEFAULT_RETENTION_SECONDS = 3600 + 300;

/** How long a replaced signing key stays published: the longest lifetime of anything it signed, plus a margin. */
export function keyRetentionSeconds(config: PortaConfig): number {
  const { idTokenTtlSeconds, accessTokenTtlSeconds } = config.idp;
  return Math.max(idTokenTtlSeconds, accessTokenTtlSeconds) + 300;
}

export interface RotationResult {
  /** The kid that signs from now on. */
  signingKid: string;
  /** Every kid still published in the JWKS. */
  publishedKids: string[];
}

/**
 * Adds a new signing key in front and a new cookie key in front; old signing keys stay published for
 * `retainSeconds`. Compare-and-set on the document version, so concurrent rotations cannot lose a key.
 * Running IdP processes are told through the broadcast and reload their keys.
 */
export async function rotateKeys(stores: Pick<Stores, 'documents' | 'broadcast'>, options: { retainSeconds?: number; clock?: Clock } = {}): Promise<RotationResult> {
  const clock = options.clock ?? systemClock;
  const retainSeconds = options.retainSeconds ?? DEFAULT_RETENTION_SECONDS;
  const { documents } = stores;
  await loadSigningKeys(documents, clock); // make sure the document exists
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const version = await documents.version(COLLECTION, SIGNING);
    const doc = (await documents.get<SigningDoc>(COLLECTION, SIGNING)) ?? { keys: [] };
    const now = clock.now();
    const retireAt = now + retainSeconds * 1000;
    const kept = doc.keys
      .filter((k) => k.retireAt === undefined || k.retireAt > now)
      .map((k) => (k.retireAt === undefined ? { ...k, retireAt } : k));
    const fresh: StoredSigningKey = { jwk: generateSigningKey(), createdAt: now };
    const next: SigningDoc = { keys: [fresh, ...kept] };
    if ((await documents.writeVersioned(COLLECTION, SIGNING, next, version)) === undefined) continue;
    await rotateCookieKeys(documents);
    await stores.broadcast.publish(KEYS_CHANNEL, fresh.jwk.kid);
    return { signingKid: fresh.jwk.kid, publishedKids: next.keys.map((k) => k.jwk.kid) };
  }
  throw new Error('could not rotate the IdP keys: the key document kept changing (another rotation running?)');
}

async function rotateCookieKeys(documents: DocumentStore): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const version = await documents.version(COLLECTION, COOKIES);
    const doc = (await documents.get<CookieDoc>(COLLECTION, COOKIES)) ?? { keys: [] };
    const keys = [randomToken(32), ...doc.keys].slice(0, COOKIE_KEYS_KEPT);
    if ((await documents.writeVersioned(COLLECTION, COOKIES, { keys }, version)) !== undefined) return;
  }
  throw new Error('could not rotate the IdP cookie keys: the document kept changing');
}

/** The public half of each key: what `/jwks` publishes; for verifying without the provider. */
export function publicJwks(keys: readonly SigningJwk[]): { keys: JsonWebKey[] } {
  return {
    keys: keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  };
}
