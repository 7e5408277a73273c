/**
 * Seals TOTP secrets at rest (AES-256-GCM). The key is a random 32-byte value kept in its own
 * document (`idp-secrets/factors`), created once by whichever process needs it first: a copy or
 * export of the `factors` collection alone does not reveal any secret. (A dump of the whole store
 * does; an operator who needs more keeps the store itself encrypted.)
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DocumentStore } from '../../store/types.ts';

const COLLECTION = 'idp-secrets';
const KEY_ID = 'factors';

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

function boxWith(key: Buffer): SecretBox {
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed) {
      const [version, iv, body, tag] = sealed.split('.');
      if (version !== 'v1' || !iv || !body || !tag) throw new Error('sealed secret in an unknown format');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

export async function loadSecretBox(documents: DocumentStore): Promise<SecretBox> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const stored = await documents.get<{ key: string }>(COLLECTION, KEY_ID);
    if (stored) return boxWith(Buffer.from(stored.key, 'base64url'));
    // Two processes starting together: only one creation wins; the other reads the winner's key.
    await documents.writeVersioned(COLLECTION, KEY_ID, { key: randomBytes(32).toString('base64url') }, 0);
  }
  throw new Error('could not create the key that seals second-factor secrets');
}
