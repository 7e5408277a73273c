/**
 * Second factors of accounts, kept in the store's DocumentStore (not in the directory: LDAP stays
 * plain `inetOrgPerson`, and both directory kinds get factors the same way). One document per
 * account in `factors`, changed only by compare-and-set, so two processes checking the same code at
 * once cannot both accept it; one index document per passkey in `passkeys` (credential id → account)
 * for passwordless sign-in.
 */
import type { DocumentStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { SecretBox } from './secret-box.ts';
import { matchTotp } from './totp.ts';
import { findRecoveryCode, newRecoveryCodes } from './recovery-codes.ts';

const FACTORS = 'factors';
const PASSKEY_INDEX = 'passkeys';

export interface Passkey {
  /** Credential id, base64url. */
  id: string;
  /** Chosen by the person ("phone", "YubiKey"). */
  name: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports?: string[];
  createdAt: number;
  lastUsedAt?: number;
}

export interface FactorRecord {
  accountId: string;
  totp?: { secret: string; createdAt: number; lastStep: number };
  recoveryCodes?: { hashes: string[]; createdAt: number };
  passkeys: Passkey[];
  /** The person signs in with a passkey alone (no password). */
  passwordless: boolean;
}

/** What may be shown about an account's factors: never a secret. */
export interface FactorSummary {
  totp: { createdAt: number } | null;
  recoveryCodesLeft: number;
  passkeys: Array<{ id: string; name: string; createdAt: number; lastUsedAt?: number }>;
  passwordless: boolean;
}

const empty = (accountId: string): FactorRecord => ({ accountId, passkeys: [], passwordless: false });

export function hasSecondFactor(record: FactorRecord | undefined): boolean {
  return Boolean(record && (record.totp || record.passkeys.length > 0));
}

export class FactorStore {
  private readonly documents: DocumentStore;
  private readonly box: SecretBox;
  private readonly clock: Clock;

  constructor(deps: { documents: DocumentStore; box: SecretBox; clock: Clock }) {
    this.documents = deps.documents;
    this.box = deps.box;
    this.clock = deps.clock;
  }

  async get(accountId: string): Promise<FactorRecord | undefined> {
    return this.documents.get<FactorRecord>(FACTORS, accountId);
  }

  async hasSecondFactor(accountId: string): Promise<boolean> {
    return hasSecondFactor(await this.get(accountId));
  }

  async summary(accountId: string): Promise<FactorSummary> {
    const record = (await this.get(accountId)) ?? empty(accountId);
    return {
      totp: record.totp ? { createdAt: record.totp.createdAt } : null,
      recoveryCodesLeft: record.recoveryCodes?.hashes.length ?? 0,
      passkeys: record.passkeys.map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, ...(lastUsedAt ? { lastUsedAt } : {}) })),
      passwordless: record.passwordless,
    };
  }

  /**
   * Read-modify-write under compare-and-set. `change` returns the new record and a result, or
   * undefined to write nothing; a conflicting write in between makes it run again on fresh data.
   */
  private async update<T>(accountId: string, change: (record: FactorRecord) => { record: FactorRecord; result: T } | { result: T; record?: undefined }): Promise<T> {
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const version = await this.documents.version(FACTORS, accountId);
      const current = (await this.documents.get<FactorRecord>(FACTORS, accountId)) ?? empty(accountId);
      const outcome = change(structuredClone(current));
      if (!outcome.record) return outcome.result;
      if ((await this.documents.writeVersioned(FACTORS, accountId, outcome.record, version)) !== undefined) return outcome.result;
    }
    throw new Error('second-factor record kept changing; try again');
  }

  /** Recovery codes if the account has none left (first factor, or all used): shown once. */
  private withRecoveryCodes(record: FactorRecord): string[] | undefined {
    if (record.recoveryCodes && record.recoveryCodes.hashes.length > 0) return undefined;
    const { codes, hashes } = newRecoveryCodes();
    record.recoveryCodes = { hashes, createdAt: this.clock.now() };
    return codes;
  }

  /**
   * Confirms a TOTP enrolment with a first code from the app, then keeps the secret (sealed).
   * Returns false for a wrong code; on success the new recovery codes when there were none.
   */
  async enrolTotp(accountId: string, secret: string, code: string): Promise<{ ok: false } | { ok: true; recoveryCodes?: string[] }> {
    const now = this.clock.now();
    const step = matchTotp(secret, code, now);
    if (step === undefined) return { ok: false };
    return this.update(accountId, (record) => {
      record.totp = { secret: this.box.seal(secret), createdAt: now, lastStep: step };
      const recoveryCodes = this.withRecoveryCodes(record);
      return { record, result: { ok: true as const, ...(recoveryCodes ? { recoveryCodes } : {}) } };
    });
  }

  /** True once per valid code: the step it belongs to becomes the last used one. */
  async verifyTotp(accountId: string, code: string): Promise<boolean> {
    const now = this.clock.now();
    return this.update(accountId, (record) => {
      if (!record.totp) return { result: false };
      const step = matchTotp(this.box.open(record.totp.secret), code, now, record.totp.lastStep);
      if (step === undefined) return { result: false };
      record.totp.lastStep = step;
      return { record, result: true };
    });
  }

  /** True once per recovery code. */
  async useRecoveryCode(accountId: string, code: string): Promise<boolean> {
    return this.update(accountId, (record) => {
      const hashes = record.recoveryCodes?.hashes ?? [];
      const index = findRecoveryCode(hashes, code);
      if (index < 0 || !record.recoveryCodes) return { result: false };
      record.recoveryCodes.hashes.splice(index, 1);
      return { record, result: true };
    });
  }

  /** Replaces the recovery codes with ten new ones (shown once). */
  async renewRecoveryCodes(accountId: string): Promise<string[]> {
    return this.update(accountId, (record) => {
      const { codes, hashes } = newRecoveryCodes();
      record.recoveryCodes = { hashes, createdAt: this.clock.now() };
      return { record, result: codes };
    });
  }

  async removeTotp(accountId: string): Promise<boolean> {
    return this.update(accountId, (record) => {
      if (!record.totp) return { result: false };
      delete record.totp;
      if (!hasSecondFactor(record)) record.passwordless = false;
      return { record, result: true };
    });
  }

  /** Adds a passkey; returns the new recovery codes when the account had none. */
  async addPasskey(accountId: string, passkey: Passkey): Promise<{ recoveryCodes?: string[] }> {
    // Index first: a passkey is usable for passwordless sign-in only when both agree.
    await this.documents.write([{ collection: PASSKEY_INDEX, id: passkey.id, doc: { accountId } }]);
    return this.update(accountId, (record) => {
      record.passkeys = record.passkeys.filter((p) => p.id !== passkey.id);
      record.passkeys.push(passkey);
      const recoveryCodes = this.withRecoveryCodes(record);
      return { record, result: recoveryCodes ? { recoveryCodes } : {} };
    });
  }

  async removePasskey(accountId: string, passkeyId: string): Promise<boolean> {
    const removed = await this.update(accountId, (record) => {
      const left = record.passkeys.filter((p) => p.id !== passkeyId);
      if (left.length === record.passkeys.length) return { result: false };
      record.passkeys = left;
      if (left.length === 0) record.passwordless = false;
      return { record, result: true };
    });
    if (removed) await this.documents.write([{ collection: PASSKEY_INDEX, id: passkeyId, doc: undefined }]);
    return removed;
  }

  /** After a verified assertion: the new signature counter and when. */
  async passkeyUsed(accountId: string, passkeyId: string, counter: number): Promise<void> {
    await this.update(accountId, (record) => {
      const passkey = record.passkeys.find((p) => p.id === passkeyId);
      if (!passkey) return { result: undefined };
      passkey.counter = counter;
      passkey.lastUsedAt = this.clock.now();
      return { record, result: undefined };
    });
  }

  /** The account and passkey of a credential id, when both the index and the account agree. */
  async passkeyOwner(credentialId: string): Promise<{ accountId: string; passkey: Passkey; passwordless: boolean } | undefined> {
    const index = await this.documents.get<{ accountId: string }>(PASSKEY_INDEX, credentialId);
    if (!index) return undefined;
    const record = await this.get(index.accountId);
    const passkey = record?.passkeys.find((p) => p.id === credentialId);
    return record && passkey ? { accountId: index.accountId, passkey, passwordless: record.passwordless } : undefined;
  }

  async setPasswordless(accountId: string, on: boolean): Promise<boolean> {
    return this.update(accountId, (record) => {
      if (on && record.passkeys.length === 0) return { result: false };
      record.passwordless = on;
      return { record, result: true };
    });
  }

  /** Removes every factor of the account (admin recovery, account deletion). */
  async reset(accountId: string): Promise<FactorSummary> {
    const before = await this.summary(accountId);
    const ids = await this.update(accountId, (record) => ({ record: empty(accountId), result: record.passkeys.map((p) => p.id) }));
    if (ids.length > 0) await this.documents.write(ids.map((id) => ({ collection: PASSKEY_INDEX, id, doc: undefined })));
    return before;
  }
}
