/**
 * oidc-provider's storage adapter over the store's KeyValueStore, so every IdP process (and both
 * store implementations) share codes, tokens, sessions and interactions.
 *
 * Layout (all under `oidc:`):
 *   `oidc:<Model>:<id>`           → JSON record { payload, consumed?, expiresAt? }
 *   `oidc:<Model>:uid:<uid>`      → id   (sessions are looked up by their cookie uid)
 *   `oidc:<Model>:code:<userCode>`→ id   (device flow; kept for completeness of the contract)
 *   `oidc:<Model>:<id>:consumed`  → when a single-use artefact was consumed (set atomically)
 *   `oidc:grant:<grantId>`        → set of record keys issued under that grant (revocation)
 *
 * `consume` is atomic (setIfAbsent on the marker): of two requests redeeming the same code or
 * refresh token at once, in one process or two, exactly one wins; the other is refused and, as for
 * any reuse, everything issued under the grant is revoked.
 *
 * Expiry is enforced twice: the store's TTL removes the key, and `expiresAt` (from the injected
 * clock) makes `find` answer "gone" at the exact moment, whatever the store's TTL granularity.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { KeyValueStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';

/** Models whose artefacts belong to a grant and must disappear with it. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Single-use artefacts. */
const CONSUMABLE = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

interface StoredRecord {
  payload: AdapterPayload;
  /** Milliseconds since the epoch. */
  expiresAt?: number;
}

export type AdapterClass = new (name: string) => Adapter;

/** Returns the class oidc-provider instantiates once per model name. */
export function createAdapterClass(kv: KeyValueStore, clock: Clock = systemClock, prefix = 'oidc:'): AdapterClass {
  return class StoreAdapter implements Adapter {
    readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    private key(id: string): string {
      return `${prefix}${this.name}:${id}`;
    }

    private uidKey(uid: string): string {
      return `${prefix}${this.name}:uid:${uid}`;
    }

    private userCodeKey(userCode: string): string {
      return `${prefix}${this.name}:code:${userCode}`;
    }

    private grantKey(grantId: string): string {
      return `${prefix}grant:${grantId}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const ttl = expiresIn && expiresIn > 0 ? Math.ceil(expiresIn) : undefined;
      const record: StoredRecord = { payload };
      if (ttl) record.expiresAt = clock.now() + ttl * 1000;
      const key = this.key(id);
      await kv.set(key, JSON.stringify(record), ttl);
      const writes: Array<Promise<void>> = [];
      if (GRANTABLE.has(this.name) && typeof payload.grantId === 'string') {
        writes.push(kv.addToSet(this.grantKey(payload.grantId), key, ttl));
      }
      if (typeof payload.uid === 'string') writes.push(kv.set(this.uidKey(payload.uid), id, ttl));
      if (typeof payload.userCode === 'string') writes.push(kv.set(this.userCodeKey(payload.userCode), id, ttl));
      await Promise.all(writes);
    }

    private async read(id: string): Promise<StoredRecord | undefined> {
      const raw = await kv.get(this.key(id));
      if (raw === undefined) return undefined;
      const record = JSON.parse(raw) as StoredRecord;
      if (record.expiresAt !== undefined && record.expiresAt <= clock.now()) return undefined;
      return record;
    }

    private consumedKey(id: string): string {
      return `${this.key(id)}:consumed`;
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const [record, consumed] = await Promise.all([
        this.read(id),
        CONSUMABLE.has(this.name) ? kv.get(this.consumedKey(id)) : Promise.resolve(undefined),
      ]);
      if (!record) return undefined;
      return consumed === undefined ? record.payload : { ...record.payload, consumed: Number(consumed) };
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await kv.get(this.uidKey(uid));
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await kv.get(this.userCodeKey(userCode));
      return id === undefined ? undefined : this.find(id);
    }

    async consume(id: string): Promise<void> {
      const key = this.key(id);
      const record = await this.read(id);
      if (!record) return;
      const left = await kv.ttl(key);
      const ttl = left === undefined || left === Infinity ? undefined : Math.max(1, Math.ceil(left));
      const first = await kv.setIfAbsent(this.consumedKey(id), String(Math.floor(clock.now() / 1000)), ttl);
      if (first) return;
      // Lost a race with another redemption of the same artefact: treat it as the reuse it is.
      const grantId = record.payload.grantId;
      if (typeof grantId === 'string') {
        await this.revokeByGrantId(grantId);
        await kv.delete(`${prefix}Grant:${grantId}`);
      }
      throw new errors.InvalidGrant(`${this.name} already consumed`);
    }

    async destroy(id: string): Promise<void> {
      const record = await this.read(id);
      const keys = [this.key(id), this.consumedKey(id)];
      if (record && typeof record.payload.uid === 'string') keys.push(this.uidKey(record.payload.uid));
      if (record && typeof record.payload.userCode === 'string') keys.push(this.userCodeKey(record.payload.userCode));
      await kv.delete(...keys);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const grantKey = this.grantKey(grantId);
      const members = await kv.setMembers(grantKey);
      await kv.delete(...members, ...members.map((member) => `${member}:consumed`), grantKey);
    }
  };
}
