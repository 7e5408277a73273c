/**
 * WebAuthn (passkeys, security keys) with @simplewebauthn/server. The relying party is the IdP's
 * issuer: its host is the RP ID and its origin the only expected origin. Challenges are made here
 * and kept by the caller (in the interaction's or the account page's pending state), each used once.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Passkey } from './factor-store.ts';

export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

export function relyingPartyOf(issuer: string, name = 'Porta'): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, name, origin: url.origin };
}

export async function registrationOptions(rp: RelyingParty, account: { id: string; username: string; name: string }, existing: Passkey[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: account.username,
    userDisplayName: account.name || account.username,
    userID: new TextEncoder().encode(account.id),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    // Resident keys let the same passkey sign in without a username (passwordless).
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

/** Parses the JSON the page's script posted; undefined when it is not a credential at all. */
export function parseCredential<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(text: unknown): T | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 16_384) return undefined;
  try {
    const value = JSON.parse(text) as T;
    return value && typeof value === 'object' && typeof value.id === 'string' && typeof value.response === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A verified new passkey, or undefined when the response does not hold up. */
export async function verifyRegistration(rp: RelyingParty, response: RegistrationResponseJSON, challenge: string, name: string, now: number): Promise<Passkey | undefined> {
  try {
    const result = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: false });
    if (!result.verified) return undefined;
    const { credential } = result.registrationInfo;
    return {
      id: credential.id,
      name,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      ...(credential.transports ? { transports: credential.transports } : {}),
      createdAt: now,
    };
  } catch {
    return undefined;
  }
}

/** Options for a sign-in: with `passkeys` for a second factor, without for a discoverable (passwordless) one. */
export async function authenticationOptions(rp: RelyingParty, passkeys: Passkey[] = []): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: passkeys.map((p) => ({ id: p.id, transports: p.transports })),
    userVerification: passkeys.length > 0 ? 'preferred' : 'required',
  });
}

/** The new signature counter when the assertion is valid for `passkey`; undefined otherwise. */
export async function verifyAuthentication(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  challenge: string,
  passkey: Passkey,
  options: { requireUserVerification: boolean },
): Promise<number | undefined> {
  if (response.id !== passkey.id) return undefined;
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: { id: passkey.id, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: passkey.counter, transports: passkey.transports },
      requireUserVerification: options.requireUserVerification,
    });
    return result.verified ? result.authenticationInfo.newCounter : undefined;
  } catch {
    return undefined;
  }
}
