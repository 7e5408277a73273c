/**
 * The pieces of the second factor on their own: TOTP against the RFC 6238 test vectors, the ±1
 * window and single use, recovery codes, the sealed secrets, and the factor store's compare-and-set
 * (two processes checking the same code at once: exactly one accepts), on the real embedded store.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { base32Decode, base32Encode, matchTotp, newTotpSecret, otpauthUri, totpCode, totpStep } from '../../idp/factors/totp.ts';
import { findRecoveryCode, hashRecoveryCode, newRecoveryCodes } from '../../idp/factors/recovery-codes.ts';
import { loadSecretBox } from '../../idp/factors/secret-box.ts';
import { FactorStore } from '../../idp/factors/factor-store.ts';

// RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; 6-digit codes are the last six digits.
const RFC_SECRET = base32Encode(Buffer.from('12345678901234567890'));
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

let stores: Stores;
beforeAll(async () => {
  stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
});
afterAll(async () => {
  await stores?.close();
});

describe('TOTP', () => {
  it('matches the RFC 6238 test vectors', () => {
    for (const [seconds, code] of VECTORS) expect(totpCode(RFC_SECRET, totpStep(seconds * 1000))).toBe(code.slice(2));
  });

  it('accepts one step either side, not two, and never a step at or before the last used one', () => {
    const now = 1_800_000_000_000;
    const step = totpStep(now);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step), now)).toBe(step);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step - 1), now)).toBe(step - 1);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step + 1), now)).toBe(step + 1);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step + 2), now)).toBeUndefined();
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step - 2), now)).toBeUndefined();
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, step), now, step)).toBeUndefined();
    expect(matchTotp(RFC_SECRET, 'abcdef', now)).toBeUndefined();
    expect(matchTotp(RFC_SECRET, `${totpCode(RFC_SECRET, step).slice(0, 3)} ${totpCode(RFC_SECRET, step).slice(3)}`, now)).toBe(step);
  });

  it('makes 160-bit base32 secrets and an otpauth URI apps read', () => {
    const secret = newTotpSecret();
    expect(base32Decode(secret)).toHaveLength(20);
    expect(base32Encode(base32Decode(secret))).toBe(secret);
    const uri = new URL(otpauthUri({ issuer: 'Porta', account: 'ana', secret }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
  });
});

describe('recovery codes and sealed secrets', () => {
  it('ten distinct codes, hashed, found whatever the case and dashes', () => {
    const { codes, hashes } = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    expect(hashes.every((h) => !codes.some((c) => h.includes(c.replace('-', ''))))).toBe(true);
    expect(findRecoveryCode(hashes, codes[2]!.toUpperCase().replace('-', ' '))).toBe(2);
    expect(findRecoveryCode(hashes, 'nope-nope')).toBe(-1);
    expect(hashRecoveryCode(codes[0]!)).toBe(hashes[0]);
  });

  it('seals with one key per store, shared by every process, and detects tampering', async () => {
    const [a, b] = await Promise.all([loadSecretBox(stores.documents), loadSecretBox(stores.documents)]);
    const sealed = a.seal('JBSWY3DPEHPK3PXP');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(b.open(sealed)).toBe('JBSWY3DPEHPK3PXP');
    const parts = sealed.split('.');
    parts[2] = Buffer.from('XXXXXXXXXXXX').toString('base64url');
    expect(() => a.open(parts.join('.'))).toThrow();
  });
});

describe('FactorStore', () => {
  it('one code, checked by two processes at once, is accepted exactly once', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const box = await loadSecretBox(stores.documents);
    const one = new FactorStore({ documents: stores.documents, box, clock });
    const two = new FactorStore({ documents: stores.documents, box, clock });
    const secret = newTotpSecret();
    const enrolled = await one.enrolTotp('acc-1', secret, totpCode(secret, totpStep(clock.now())));
    expect(enrolled.ok).toBe(true);
    clock.advance(30_000);
    const code = totpCode(secret, totpStep(clock.now()));
    const results = await Promise.all([one.verifyTotp('acc-1', code), two.verifyTotp('acc-1', code), one.verifyTotp('acc-1', code)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('recovery codes come with the first factor only, each works once; a reset removes everything', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const factors = new FactorStore({ documents: stores.documents, box: await loadSecretBox(stores.documents), clock });
    const secret = newTotpSecret();
    const first = await factors.enrolTotp('acc-2', secret, totpCode(secret, totpStep(clock.now())));
    expect(first.ok && first.recoveryCodes).toHaveLength(10);
    const codes = first.ok ? first.recoveryCodes! : [];
    const passkey = { id: 'cred-1', name: 'Key', publicKey: 'AA', counter: 0, createdAt: clock.now() };
    expect((await factors.addPasskey('acc-2', passkey)).recoveryCodes).toBeUndefined();
    expect((await factors.passkeyOwner('cred-1'))?.accountId).toBe('acc-2');
    const twice = await Promise.all([factors.useRecoveryCode('acc-2', codes[0]!), factors.useRecoveryCode('acc-2', codes[0]!)]);
    expect(twice.filter(Boolean)).toHaveLength(1);
    expect(await factors.useRecoveryCode('acc-2', codes[0]!)).toBe(false);
    expect((await factors.summary('acc-2')).recoveryCodesLeft).toBe(9);
    const before = await factors.reset('acc-2');
    expect(before.passkeys).toHaveLength(1);
    expect(await factors.hasSecondFactor('acc-2')).toBe(false);
    expect(await factors.passkeyOwner('cred-1')).toBeUndefined();
    expect(await factors.useRecoveryCode('acc-2', codes[1]!)).toBe(false);
  });
});
