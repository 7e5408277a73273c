import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ManualClock } from '../../kernel/clock.ts';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { DevicePasswords } from '../../gateway/enforcers/webdav/device-passwords.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let stores: EmbeddedStores;
let clock: ManualClock;
let devices: DevicePasswords;

beforeAll(() => {
  clock = new ManualClock();
  stores = new EmbeddedStores({ path: ':memory:', clock });
  devices = new DevicePasswords({ documents: stores.documents, clock });
});
afterAll(async () => stores.close());

describe('device passwords for sync clients', () => {
  it('issue a password once, verify it from Basic credentials and never store it', async () => {
    const { device, password } = await devices.create('ana', 'Laptop');
    expect(password.startsWith(`${device.deviceId}.`)).toBe(true);
    const seen = await devices.fromAuthorization(basic('ana', password));
    expect(seen?.deviceId).toBe(device.deviceId);
    expect(seen?.subject).toBe('ana');
    const stored = JSON.stringify(await stores.documents.list('device-passwords'));
    expect(stored).not.toContain(password.split('.')[1]);
    expect(JSON.stringify(await devices.list('ana'))).not.toContain('secretHash');
  });

  it('refuse a wrong secret, another account\'s name, other schemes and garbage', async () => {
    const { password } = await devices.create('bea', 'Phone');
    const [id, secret] = password.split('.');
    expect(await devices.fromAuthorization(basic('bea', `${id}.${secret.slice(0, -1)}x`))).toBeUndefined();
    expect(await devices.fromAuthorization(basic('ana', password))).toBeUndefined();
    expect(await devices.fromAuthorization(`Bearer ${password}`)).toBeUndefined();
    expect(await devices.fromAuthorization('Basic !!!')).toBeUndefined();
    expect(await devices.fromAuthorization(basic('bea', 'no-dot'))).toBeUndefined();
  });

  it('list an account\'s devices and revoke one at once', async () => {
    const first = await devices.create('cai', 'Laptop');
    clock.advance(1000);
    const second = await devices.create('cai', 'Phone');
    expect((await devices.list('cai')).map((d) => d.name)).toEqual(['Laptop', 'Phone']);
    expect(await devices.revoke('cai', first.device.deviceId)).toBe(true);
    expect(await devices.fromAuthorization(basic('cai', first.password))).toBeUndefined();
    expect((await devices.fromAuthorization(basic('cai', second.password)))?.name).toBe('Phone');
    expect(await devices.revoke('cai', first.device.deviceId)).toBe(false);
    await expect(devices.create('cai', '   ')).rejects.toThrow(/name/);
  });
});
