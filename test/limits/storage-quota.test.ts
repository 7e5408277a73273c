/**
 * Storage quota on every upload shape, through a real proxy to the Nextcloud-like simulator. The
 * simulator has no quota of its own here: whatever it holds got past the gateway.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash } from 'node:crypto';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { createStorageQuotaEnforcer } from '../../gateway/enforcers/webdav/index.ts';
import type { EnforcedLimits } from '../../gateway/enforcers/types.ts';
import { startWebdavSimulator, type WebdavSimulator } from '../simulators/webdav-server.ts';
import { startEnforcedProxy, type EnforcedProxy } from './enforced-proxy.ts';
import { call } from './http-client.ts';
import { eventually } from './eventually.ts';

const KiB = 1024;
const QUOTA = 1024 * KiB;
const limits = (storage: number | null): EnforcedLimits => ({ plans: ['free', 'storage-basic'], storage, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0 });
const bytes = (n: number, fill = 0x61) => Buffer.alloc(n, fill);
const pieces = (total: number, size: number) => Array.from({ length: Math.ceil(total / size) }, (_, i) => bytes(Math.min(size, total - i * size)));
/** Reservations are released after the response closed. */
const released = (user: string) => eventually(async () => (await stores.counters.get(`quota:held:${user}`)) === 0);

let sim: WebdavSimulator;
let stores: EmbeddedStores;
let proxy: EnforcedProxy;

beforeAll(async () => {
  sim = await startWebdavSimulator();
  stores = new EmbeddedStores({ path: ':memory:' });
  const enforcer = createStorageQuotaEnforcer({
    service: { id: 'oficina', name: 'Oficina', upstream: sim.url },
    counters: stores.counters,
    kv: stores.kv,
    moreSpaceUrl: 'https://porta.test/account/plans',
    planName: (ids) => (ids.includes('storage-basic') ? 'Oficina basic' : 'Free'),
    blockBytes: 64 * KiB,
  });
  proxy = await startEnforcedProxy({ upstream: sim.url, enforcer, limitsOf: (s) => limits(s === 'unlimited' ? null : QUOTA) });
});

afterAll(async () => {
  await proxy.close();
  await sim.close();
  await stores.close();
});

const files = (user: string, path: string) => `${proxy.url}/remote.php/dav/files/${user}/${path}`;
const as = (user: string, extra: Record<string, string> = {}) => ({ 'x-test-user': user, ...extra });

describe('PUT with Content-Length', () => {
  it('stores an upload that fits and refuses one that does not with 507 and a DAV error naming plan, usage and where to get more space', async () => {
    const ok = await call(files('ana', 'a.bin'), { method: 'PUT', headers: as('ana'), body: bytes(800 * KiB) });
    expect(ok.status).toBe(201);
    const putsBefore = sim.counts.PUT;
    const over = await call(files('ana', 'b.bin'), { method: 'PUT', headers: as('ana'), body: bytes(400 * KiB) });
    expect(over.status).toBe(507);
    expect(over.headers['content-type']).toContain('application/xml');
    expect(over.text).toContain('<s:exception>Sabre\\DAV\\Exception\\InsufficientStorage</s:exception>');
    expect(over.text).toContain('your plan "Oficina basic" gives 1 MB on Oficina');
    expect(over.text).toContain('800 KB are used');
    expect(over.text).toContain('https://porta.test/account/plans');
    expect(sim.counts.PUT).toBe(putsBefore); // the upstream never saw it
    expect(sim.usedBytes('ana')).toBe(800 * KiB);
  });

  it('lets an overwrite through when only the growth fits', async () => {
    sim.seed('bea', 'big.bin', bytes(700 * KiB));
    const same = await call(files('bea', 'big.bin'), { method: 'PUT', headers: as('bea'), body: bytes(750 * KiB, 0x62) });
    expect(same.status).toBe(204);
    expect(sim.usedBytes('bea')).toBe(750 * KiB);
    const other = await call(files('bea', 'other.bin'), { method: 'PUT', headers: as('bea'), body: bytes(750 * KiB) });
    expect(other.status).toBe(507);
    // Only the growth (50 KiB) counts as landed: what is left is usable at once.
    expect(await released('bea')).toBe(true);
    const rest = await call(files('bea', 'rest.bin'), { method: 'PUT', headers: as('bea'), body: bytes(270 * KiB) });
    expect(rest.status).toBe(201);
    expect(sim.peakUsedBytes('bea')).toBeLessThanOrEqual(QUOTA);
  });

  it('counts the legacy /remote.php/webdav endpoint too', async () => {
    sim.seed('cai', 'x.bin', bytes(900 * KiB));
    const over = await call(`${proxy.url}/remote.php/webdav/y.bin`, { method: 'PUT', headers: as('cai'), body: bytes(200 * KiB) });
    expect(over.status).toBe(507);
    expect(sim.usedBytes('cai')).toBe(900 * KiB);
  });

  it('does not limit an account whose plan has unlimited storage', async () => {
    const put = await call(files('unlimited', 'huge.bin'), { method: 'PUT', headers: as('unlimited'), body: bytes(2 * QUOTA) });
    expect(put.status).toBe(201);
  });
});

describe('PUT with Transfer-Encoding: chunked', () => {
  it('cuts a streamed upload at the quota without forwarding the excess, and the upstream keeps nothing of it', async () => {
    const over = await call(files('dan', 'stream.bin'), { method: 'PUT', headers: as('dan'), body: pieces(2 * QUOTA, 16 * KiB) });
    expect(over.status).toBe(507);
    expect(over.text).toContain('InsufficientStorage');
    // Nothing stays reserved: an upload that fits goes through afterwards.
    expect(await released('dan')).toBe(true);
    expect(sim.usedBytes('dan')).toBe(0);
    expect(sim.peakUsedBytes('dan')).toBe(0);
    // Of the 2 MiB sent, the upstream got no more than the quota allowed.
    expect(sim.bytesReceived('dan')).toBeLessThanOrEqual(QUOTA);
    const fits = await call(files('dan', 'small.bin'), { method: 'PUT', headers: as('dan'), body: pieces(500 * KiB, 16 * KiB) });
    expect(fits.status).toBe(201);
    expect(sim.fileSize('dan', 'small.bin')).toBe(500 * KiB);
  });

  it('refuses a Finder-style upload (X-Expected-Entity-Length) over quota before any byte goes upstream', async () => {
    const putsBefore = sim.counts.PUT;
    const over = await call(files('eli', 'finder.bin'), { method: 'PUT', headers: as('eli', { 'x-expected-entity-length': String(2 * QUOTA) }), body: pieces(64 * KiB, 16 * KiB) });
    expect(over.status).toBe(507);
    expect(sim.counts.PUT).toBe(putsBefore);
  });
});

describe('Nextcloud chunked upload v2', () => {
  const uploads = (user: string, rest: string) => `${proxy.url}/remote.php/dav/uploads/${user}/${rest}`;
  const destination = (user: string, path: string) => `http://cloud.test/remote.php/dav/files/${user}/${path}`;

  it('refuses at MKCOL when the declared OC-Total-Length is over quota', async () => {
    const mk = await call(uploads('fay', 'up1'), { method: 'MKCOL', headers: as('fay', { destination: destination('fay', 'f.bin'), 'oc-total-length': String(2 * QUOTA) }) });
    expect(mk.status).toBe(507);
    expect(await stores.counters.get('quota:held:fay')).toBe(0);
  });

  it('counts chunks actually sent whatever was declared, and refuses the chunk that crosses the quota', async () => {
    const headers = as('gus', { destination: destination('gus', 'g.bin'), 'oc-total-length': '100' });
    expect((await call(uploads('gus', 'up2'), { method: 'MKCOL', headers })).status).toBe(201);
    expect((await call(uploads('gus', 'up2/00001'), { method: 'PUT', headers, body: bytes(500 * KiB) })).status).toBe(201);
    expect((await call(uploads('gus', 'up2/00002'), { method: 'PUT', headers, body: bytes(400 * KiB) })).status).toBe(201);
    const third = await call(uploads('gus', 'up2/00003'), { method: 'PUT', headers, body: bytes(400 * KiB) });
    expect(third.status).toBe(507);
    expect(sim.stagedBytes('gus')).toBe(900 * KiB);
    // Assembling what was sent (900 KiB) fits (Nextcloud itself refuses a MOVE whose OC-Total-Length lies).
    const move = await call(uploads('gus', 'up2/.file'), { method: 'MOVE', headers: as('gus', { destination: destination('gus', 'g.bin') }) });
    expect(move.status).toBe(201);
    expect(sim.fileSize('gus', 'g.bin')).toBe(900 * KiB);
    expect(await released('gus')).toBe(true);
  });

  it('refuses an assembly beyond the quota when space was used meanwhile, and releases the reservation on DELETE', async () => {
    const headers = as('hal', { destination: destination('hal', 'h.bin') });
    expect((await call(uploads('hal', 'up3'), { method: 'MKCOL', headers })).status).toBe(201);
    expect((await call(uploads('hal', 'up3/00001'), { method: 'PUT', headers, body: bytes(300 * KiB) })).status).toBe(201);
    expect((await call(uploads('hal', 'up3/00002'), { method: 'PUT', headers, body: bytes(300 * KiB) })).status).toBe(201);
    // Space used by a write the gateway does not see (office editing, an admin): only the upstream knows.
    sim.seed('hal', 'edited.odt', bytes(600 * KiB));
    const move = await call(uploads('hal', 'up3/.file'), { method: 'MOVE', headers });
    expect(move.status).toBe(507);
    expect(sim.fileSize('hal', 'h.bin')).toBeUndefined();
    expect(sim.peakUsedBytes('hal')).toBeLessThanOrEqual(QUOTA);
    expect(await stores.counters.get('quota:held:hal')).toBe(600 * KiB);
    expect((await call(uploads('hal', 'up3'), { method: 'DELETE', headers: as('hal') })).status).toBe(204);
    expect(await released('hal')).toBe(true);
  });

  it('needs a Content-Length on every chunk', async () => {
    const headers = as('ivo', { destination: destination('ivo', 'i.bin') });
    expect((await call(uploads('ivo', 'up4'), { method: 'MKCOL', headers })).status).toBe(201);
    const chunk = await call(uploads('ivo', 'up4/00001'), { method: 'PUT', headers, body: pieces(32 * KiB, 8 * KiB) });
    expect(chunk.status).toBe(411);
  });
});

describe('bulk upload, COPY and the legacy protocol', () => {
  function multipart(parts: Array<{ path: string; content: Buffer }>): { body: Buffer; type: string } {
    const boundary = 'boundary_porta_test';
    const chunks: Buffer[] = [];
    for (const p of parts) {
      chunks.push(Buffer.from(`--${boundary}\r\nX-File-Path: ${p.path}\r\nX-File-MD5: ${createHash('md5').update(p.content).digest('hex')}\r\nX-File-Mtime: 1700000000\r\nContent-Length: ${p.content.length}\r\n\r\n`));
      chunks.push(p.content, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(chunks), type: `multipart/related; boundary=${boundary}` };
  }

  it('stores a bulk upload that fits and refuses one that does not', async () => {
    const fits = multipart([{ path: 'b1.txt', content: bytes(200 * KiB) }, { path: 'b2.txt', content: bytes(200 * KiB) }]);
    const ok = await call(`${proxy.url}/remote.php/dav/bulk`, { method: 'POST', headers: as('jo', { 'content-type': fits.type }), body: fits.body });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)['/b1.txt'].error).toBe(false);
    expect(sim.usedBytes('jo')).toBe(400 * KiB);
    const over = multipart([{ path: 'b3.txt', content: bytes(400 * KiB) }, { path: 'b4.txt', content: bytes(400 * KiB) }]);
    const refused = await call(`${proxy.url}/remote.php/dav/bulk`, { method: 'POST', headers: as('jo', { 'content-type': over.type }), body: over.body });
    expect(refused.status).toBe(507);
    expect(sim.usedBytes('jo')).toBe(400 * KiB);
  });

  it('refuses a COPY whose source does not fit', async () => {
    sim.seed('kim', 'folder/one.bin', bytes(350 * KiB));
    sim.seed('kim', 'folder/two.bin', bytes(350 * KiB));
    const copy = await call(files('kim', 'folder'), { method: 'COPY', headers: as('kim', { destination: `http://cloud.test/remote.php/dav/files/kim/copy` }) });
    expect(copy.status).toBe(507);
    expect(sim.usedBytes('kim')).toBe(700 * KiB);
    const small = await call(files('kim', 'folder/one.bin'), { method: 'COPY', headers: as('kim', { destination: `http://cloud.test/remote.php/dav/files/kim/one-copy.bin` }) });
    expect(small.status).toBe(507);
    sim.seed('kim', 'tiny.bin', bytes(10 * KiB));
    const tiny = await call(files('kim', 'tiny.bin'), { method: 'COPY', headers: as('kim', { destination: `http://cloud.test/remote.php/dav/files/kim/tiny2.bin` }) });
    expect(tiny.status).toBe(201);
  });

  it('refuses the legacy OC-Chunked protocol', async () => {
    const legacy = await call(`${proxy.url}/remote.php/webdav/f.bin-chunking-42-3-0`, { method: 'PUT', headers: as('lia', { 'oc-chunked': '1' }), body: bytes(10) });
    expect(legacy.status).toBe(400);
    expect(legacy.text).toContain('OC-Chunked');
  });

  it('sees freed space after a DELETE', async () => {
    expect((await call(files('max', 'a.bin'), { method: 'PUT', headers: as('max'), body: bytes(900 * KiB) })).status).toBe(201);
    expect((await call(files('max', 'b.bin'), { method: 'PUT', headers: as('max'), body: bytes(300 * KiB) })).status).toBe(507);
    expect((await call(files('max', 'a.bin'), { method: 'DELETE', headers: as('max') })).status).toBe(204);
    // The freed space shows as soon as the DELETE's exchange closed (usage marked as changed).
    expect(await eventually(async () => (await call(files('max', 'b.bin'), { method: 'PUT', headers: as('max'), body: bytes(300 * KiB) })).status === 201)).toBe(true);
  });
});
