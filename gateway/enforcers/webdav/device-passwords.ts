/**
 * Device passwords for sync clients (Nextcloud desktop and mobile, any WebDAV client). Such clients
 * send Basic credentials on every request and never cookies, so they cannot use the SSO session.
 * Porta issues one revocable password per device, shown once, listed on the account page:
 *
 *   username: the account id          password: `<deviceId>.<secret>`
 *
 * The secret is 256 random bits, so a fast hash (SHA-256) is enough to store it (nothing to
 * brute-force, as for API tokens), and checking costs no argon2 round on every request. The stored
 * document never holds the password. Comparison is constant-time; a revoked device fails at once
 * in every gateway process (the DocumentStore is shared).
 */
import { createHash } from 'node:crypto';
import type { DocumentStore } from '../../../store/types.ts';
import type { Clock } from '../../../kernel/clock.ts';
import { newId, randomToken, secretsEqual } from '../../../kernel/ids.ts';

export interface DevicePassword {
  deviceId: string;
  subject: string;
  /** What the person called the device ("Laptop", "Phone"). */
  name: string;
  createdAt: number;
  lastUsedAt?: number;
}

interface StoredDevicePassword extends DevicePassword {
  secretHash: string;
}

const COLLECTION = 'device-passwords';
const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const idOf = (subject: string, deviceId: string) => `${subject}/${deviceId}`;

export class DevicePasswords {
  private readonly documents: DocumentStore;
  private readonly clock: Clock;
  /** Last-used times are written at most this often per device. */
  private readonly touchEveryMs: number;

  constructor(options: { documents: DocumentStore; clock: Clock; touchEveryMs?: number }) {
    this.documents = options.documents;
    this.clock = options.clock;
    this.touchEveryMs = options.touchEveryMs ?? 3_600_000;
  }

  /** Issues a password for a new device; the password is returned only here. */
  async create(subject: string, name: string): Promise<{ device: DevicePassword; password: string }> {
    const label = name.trim().slice(0, 100);
    if (label === '') throw new TypeError('A device password needs a name, such as "Laptop".');
    const deviceId = newId().replace(/-/g, '').slice(0, 16);
    const secret = randomToken(32);
    const device: StoredDevicePassword = { deviceId, subject, name: label, createdAt: this.clock.now(), secretHash: hash(secret) };
    await this.documents.write([{ collection: COLLECTION, id: idOf(subject, deviceId), doc: device }]);
    return { device: publicView(device), password: `${deviceId}.${secret}` };
  }

  async list(subject: string): Promise<DevicePassword[]> {
    const entries = await this.documents.list<StoredDevicePassword>(COLLECTION, { prefix: `${subject}/` });
    return entries.map((e) => publicView(e.doc)).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** True when a device was revoked. */
  async revoke(subject: string, deviceId: string): Promise<boolean> {
    const id = idOf(subject, deviceId);
    if (!(await this.documents.get(COLLECTION, id))) return false;
    await this.documents.write([{ collection: COLLECTION, id, doc: undefined }]);
    return true;
  }

  /** The device a username and password belong to, or undefined. */
  async verify(username: string, password: string): Promise<DevicePassword | undefined> {
    const dot = password.indexOf('.');
    if (dot <= 0 || username === '' || username.includes('/')) return undefined;
    const deviceId = password.slice(0, dot);
    if (!/^[0-9a-f]{16}$/.test(deviceId)) return undefined;
    const stored = await this.documents.get<StoredDevicePassword>(COLLECTION, idOf(username, deviceId));
    if (!stored || !secretsEqual(hash(password.slice(dot + 1)), stored.secretHash)) return undefined;
    const now = this.clock.now();
    if (stored.lastUsedAt === undefined || now - stored.lastUsedAt > this.touchEveryMs) {
      await this.documents.write([{ collection: COLLECTION, id: idOf(username, deviceId), doc: { ...stored, lastUsedAt: now } }]);
    }
    return publicView({ ...stored, lastUsedAt: now });
  }

  /** Reads `Authorization: Basic …`; the device, or undefined (also for other schemes). */
  async fromAuthorization(header: string | undefined): Promise<DevicePassword | undefined> {
    if (!header || !/^basic /i.test(header)) return undefined;
    let decoded: string;
    try {
      decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    } catch {
      return undefined;
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return this.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
  }
}

function publicView(d: StoredDevicePassword): DevicePassword {
  const { secretHash: _secretHash, ...rest } = d;
  return rest;
}
