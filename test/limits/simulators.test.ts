/** The simulators themselves behave as the protocols say (directly, without the gateway). */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { jwtVerify } from 'jose';
import { ManualClock } from '../../kernel/clock.ts';
import { startWebdavSimulator, type WebdavSimulator } from '../simulators/webdav-server.ts';
import { startBbbSimulator, type BbbSimulator } from '../simulators/bbb-server.ts';
import { call } from './http-client.ts';

describe('WebDAV simulator', () => {
  let sim: WebdavSimulator;
  beforeAll(async () => (sim = await startWebdavSimulator({ quotas: { ana: 1000 }, passwords: { ana: 'app-password' } })));
  afterAll(async () => sim.close());
  const as = { 'x-forwarded-user': 'ana' };

  it('reports RFC 4331 usage and answers its own quota with Sabre\'s 507', async () => {
    expect((await call(`${sim.url}/remote.php/dav/files/ana/a.txt`, { method: 'PUT', headers: as, body: Buffer.alloc(600) })).status).toBe(201);
    const auth = { authorization: `Basic ${Buffer.from('ana:app-password').toString('base64')}`, depth: '0' };
    const props = await call(`${sim.url}/remote.php/dav/files/ana/`, { method: 'PROPFIND', headers: auth });
    expect(props.status).toBe(207);
    expect(props.text).toContain('<d:quota-used-bytes>600</d:quota-used-bytes>');
    expect(props.text).toContain('<d:quota-available-bytes>400</d:quota-available-bytes>');
    const over = await call(`${sim.url}/remote.php/dav/files/ana/b.txt`, { method: 'PUT', headers: as, body: Buffer.alloc(500) });
    expect(over.status).toBe(507);
    expect(over.text).toContain('Sabre\\DAV\\Exception\\InsufficientStorage');
    expect((await call(`${sim.url}/remote.php/dav/files/ana/`, { method: 'PROPFIND', headers: { authorization: 'Basic eDp5' } })).status).toBe(401);
  });

  it('checks OC-Total-Length on chunks, assembles on MOVE .file, and answers bulk quota errors inside a 200', async () => {
    const dest = { ...as, destination: `${sim.url}/remote.php/dav/files/ana/big.bin` };
    expect((await call(`${sim.url}/remote.php/dav/uploads/ana/u1`, { method: 'MKCOL', headers: dest })).status).toBe(201);
    expect((await call(`${sim.url}/remote.php/dav/uploads/ana/u1/00001`, { method: 'PUT', headers: { ...dest, 'oc-total-length': '5000' }, body: Buffer.alloc(100) })).status).toBe(507);
    expect((await call(`${sim.url}/remote.php/dav/uploads/ana/u1/00002`, { method: 'PUT', headers: dest, body: Buffer.alloc(150) })).status).toBe(201);
    expect((await call(`${sim.url}/remote.php/dav/uploads/ana/u1/00001`, { method: 'PUT', headers: dest, body: Buffer.alloc(100, 1) })).status).toBe(201);
    expect((await call(`${sim.url}/remote.php/dav/uploads/ana/u1/.file`, { method: 'MOVE', headers: dest })).status).toBe(201);
    expect(sim.fileSize('ana', 'big.bin')).toBe(250);
    expect(sim.stagedBytes('ana')).toBe(0);
    const part = Buffer.alloc(300);
    const body = Buffer.concat([
      Buffer.from(`--b\r\nX-File-Path: bulk.bin\r\nX-File-MD5: ${createHash('md5').update(part).digest('hex')}\r\nContent-Length: 300\r\n\r\n`),
      part,
      Buffer.from('\r\n--b--\r\n'),
    ]);
    const bulk = await call(`${sim.url}/remote.php/dav/bulk`, { method: 'POST', headers: { ...as, 'content-type': 'multipart/related; boundary=b' }, body });
    expect(bulk.status).toBe(200);
    expect(JSON.parse(bulk.text)['/bulk.bin'].error).toBe(true);
  });

  it('keeps nothing of an upload cut off mid-stream', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request(`${sim.url}/remote.php/dav/files/ana/cut.bin`, { method: 'PUT', headers: { ...as, 'transfer-encoding': 'chunked' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(50));
      setTimeout(() => {
        req.destroy();
        setTimeout(resolve, 50);
      }, 50);
    });
    expect(sim.fileSize('ana', 'cut.bin')).toBeUndefined();
  });
});

describe('BigBlueButton simulator', () => {
  const secret = 'sim-secret';
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 10));
  let bbb: BbbSimulator;
  let hooks: http.Server;
  const seen: Array<{ method: string; url: string; body: string }> = [];
  let hookUrl = '';

  beforeAll(async () => {
    bbb = await startBbbSimulator({ secret, clock });
    hooks = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await bbb.close();
    await new Promise<void>((resolve) => hooks.close(() => resolve()));
  });

  const api = (name: string, query: string) =>
    call(`${bbb.url}/bigbluebutton/api/${name}?${query}&checksum=${createHash('sha256').update(name + query + secret).digest('hex')}`, { method: 'GET' });

  it('ends a meeting when its duration passed and calls the end callback', async () => {
    const q = `meetingID=m1&name=M1&duration=30&meta_endCallbackUrl=${encodeURIComponent(`${hookUrl}/ended`)}&meta_bbb-recording-ready-url=${encodeURIComponent(`${hookUrl}/ready`)}`;
    expect((await api('create', q)).text).toContain('<returncode>SUCCESS</returncode>');
    expect((await api('create', q)).text).toContain('<messageKey>duplicateWarning</messageKey>');
    clock.advance(29 * 60_000);
    await bbb.tick();
    expect((await api('getMeetingInfo', 'meetingID=m1')).text).toContain('<endTime>0</endTime>');
    clock.advance(60_000);
    await bbb.tick();
    expect(seen.find((s) => s.url.startsWith('/ended'))?.url).toBe('/ended?meetingID=m1&recordingmarks=false');
    expect((await api('isMeetingRunning', 'meetingID=m1')).text).toContain('<running>false</running>');
  });

  it('posts recording-ready with a JWT signed by the shared secret, and lists recording sizes', async () => {
    await bbb.finishRecording('m1', 12345);
    const posted = seen.find((s) => s.url === '/ready')!;
    const token = new URLSearchParams(posted.body).get('signed_parameters')!;
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret));
    expect(payload.meeting_id).toBe('m1');
    expect((await api('getRecordings', 'meetingID=m1')).text).toContain('<size>12345</size>');
    expect((await api('getRecordings', 'meetingID=m1&x=1')).text).toContain('<returncode>SUCCESS</returncode>');
    const bad = await call(`${bbb.url}/bigbluebutton/api/getRecordings?meetingID=m1&checksum=${'a'.repeat(64)}`, { method: 'GET' });
    expect(bad.status).toBe(200);
    expect(bad.text).toContain('<messageKey>checksumError</messageKey>');
  });
});
