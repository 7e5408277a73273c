/**
 * The enforcers plugged into the real gateway pipeline (bearer authentication by a real OpenID
 * Provider, the gateway's own upstream proxy): the refusals keep their service dialect, a streamed
 * upload is cut through the gateway's proxy, BigBlueButton calls are re-signed.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { parseConfig } from '../../config/load.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { createGateway, type Gateway } from '../../gateway/index.ts';
import { createServiceEnforcers } from '../../gateway/enforcers/index.ts';
import { freePort } from '../helpers/ports.ts';
import { startTinyIdp, CLIENT_SECRET, type TinyIdp } from '../gateway/helpers/tiny-idp.ts';
import { startWebdavSimulator, type WebdavSimulator } from '../simulators/webdav-server.ts';
import { startBbbSimulator, type BbbSimulator } from '../simulators/bbb-server.ts';
import { call } from './http-client.ts';
import { eventually } from './eventually.ts';

const KiB = 1024;
const QUOTA = 512 * KiB;
const FRONT_SECRET = 'front-secret';
const BBB_SECRET = 'bbb-secret';

let idp: TinyIdp;
let sim: WebdavSimulator;
let bbb: BbbSimulator;
let stores: EmbeddedStores;
let gateway: Gateway;
let server: http.Server;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  idp = await startTinyIdp({ gatewayUrl: url });
  sim = await startWebdavSimulator();
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 9));
  bbb = await startBbbSimulator({ secret: BBB_SECRET, clock });
  stores = new EmbeddedStores({ path: ':memory:', clock });
  const config = parseConfig({
    idp: { issuer: idp.issuer },
    gateway: { publicUrl: url, clientSecret: CLIENT_SECRET },
    services: [
      { id: 'oficina', name: 'Oficina', kind: 'webdav', upstream: sim.url, pathPrefix: '/remote.php' },
      { id: 'meetings', name: 'Meetings', kind: 'bbb', upstream: bbb.url, pathPrefix: '/bigbluebutton' },
      { id: 'meetings-2', name: 'Meetings 2', kind: 'bbb', upstream: bbb.url, pathPrefix: '/other-bbb' },
    ],
  });
  const limits = { plans: ['free', 'storage-basic'], storage: QUOTA, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: null };
  gateway = await createGateway<{ subject?: string }>({
    config,
    stores,
    decide: () => ({ effect: 'allow', reason: 'allowed', limits }),
    identityOf: async (claims) => ({ subject: claims?.sub }),
    recordUsage: () => true,
    logger: silentLogger,
    enforcers: createServiceEnforcers({
      services: config.services,
      stores,
      clock,
      limitsOf: async () => ({ ...limits, plan: 'free' }),
      bbbSecrets: (service) => (service.id === 'meetings' ? { front: FRONT_SECRET, bbb: BBB_SECRET } : undefined),
    }).enforcers,
  });
  server = http.createServer(gateway.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await gateway.close();
  await idp.close();
  await sim.close();
  await bbb.close();
  await stores.close();
});

describe('enforcers in the gateway pipeline', () => {
  it('answers an upload over quota with 507 and the DAV error, and cuts a streamed one', async () => {
    const token = await idp.sign({ sub: 'uma', scope: 'openid' });
    const auth = { authorization: `Bearer ${token}` };
    expect((await call(`${url}/remote.php/dav/files/uma/a.bin`, { method: 'PUT', headers: auth, body: Buffer.alloc(400 * KiB) })).status).toBe(201);
    const over = await call(`${url}/remote.php/dav/files/uma/b.bin`, { method: 'PUT', headers: auth, body: Buffer.alloc(200 * KiB) });
    expect(over.status).toBe(507);
    expect(over.text).toContain('Sabre\\DAV\\Exception\\InsufficientStorage');
    const streamed = await call(`${url}/remote.php/dav/files/uma/c.bin`, { method: 'PUT', headers: auth, body: Array.from({ length: 20 }, () => Buffer.alloc(16 * KiB)) });
    expect(streamed.status).toBe(507);
    expect(await eventually(async () => (await stores.counters.get('quota:held:uma')) === 0)).toBe(true);
    expect(sim.usedBytes('uma')).toBe(400 * KiB);
    expect(sim.peakUsedBytes('uma')).toBeLessThanOrEqual(QUOTA);
  });

  it('re-signs BigBlueButton calls, forces the duration of a signed-in host, and answers a bad checksum in BigBlueButton XML', async () => {
    const token = await idp.sign({ sub: 'vic', scope: 'openid' });
    const query = 'meetingID=gw1&name=Gateway&duration=0';
    const checksum = createHash('sha1').update(`create${query}${FRONT_SECRET}`).digest('hex');
    const created = await call(`${url}/bigbluebutton/api/create?${query}&checksum=${checksum}`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(created.status).toBe(200);
    expect(created.text).toContain('<returncode>SUCCESS</returncode>');
    expect(bbb.meeting('gw1')!.duration).toBe(60);
    expect(bbb.meeting('gw1')!.metadata['porta-owner']).toBe('vic');
    const bad = await call(`${url}/bigbluebutton/api/getMeetings?checksum=${'0'.repeat(40)}`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(bad.status).toBe(200);
    expect(bad.headers['content-type']).toContain('text/xml');
    expect(bad.text).toContain('<messageKey>checksumError</messageKey>');
    // A bbb service without secrets refuses everything (fail closed).
    const unconfigured = await call(`${url}/other-bbb/bigbluebutton/api/create?${query}&checksum=${checksum}`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(unconfigured.text).toContain('<messageKey>checksumError</messageKey>');
  });
});
