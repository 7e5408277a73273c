/** The gateway's pure parts, table-driven: path normalisation, routes, spoofable headers, client address, return URLs. */
import { describe, it, expect } from '@jest/globals';
import { normalisePath } from '../../gateway/steps/normalise-path.ts';
import { createRouteTable } from '../../gateway/steps/match-route.ts';
import { isSpoofable } from '../../gateway/steps/strip-headers.ts';
import { createClientAddressResolver } from '../../gateway/client-address.ts';
import { safeReturnTo } from '../../gateway/session/return-to.ts';
import { readCookie, withoutCookie, cookiePolicy, setCookie } from '../../gateway/session/cookie.ts';
import { parseConfig } from '../../config/load.ts';

describe('normalisePath', () => {
  it.each([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/a/b/', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/a%7eb', '/a~b'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%20b', '/a%20B'.replace('B', 'b')],
    ['/ADMIN', '/ADMIN'],
    // Already normal: returned as they are (the fast path), dots inside names included.
    ['/remote.php/dav/files/anna/report.v2.odt', '/remote.php/dav/files/anna/report.v2.odt'],
    ['/a/b..c/', '/a/b..c/'],
    ['/a;b=c/d', '/a;b=c/d'],
    ['/.well-known/openid-configuration', '/.well-known/openid-configuration'],
    ['/.', '/'],
    ['/a/...', '/a/...'],
  ])('%s → %s', (raw, expected) => {
    expect(normalisePath(raw)).toBe(expected);
  });

  it.each(['/public/..%2Fadmin', '/a%2fb', '/a%5Cb', '/a\\b', '/a%00b', '/a%0d%0ab', '/a%zzb', '/a%2', '/public/%252e%252e/admin', '/a%252Fb', '/x/..;/admin', 'admin', '', '/a\u0001b', '/a\u007fb'])('refuses %s with 400', (raw) => {
    expect(() => normalisePath(raw)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('routes', () => {
  const config = parseConfig({
    services: [
      { id: 'root', name: 'Root', upstream: 'http://127.0.0.1:1', pathPrefix: '/' },
      { id: 'api', name: 'API', upstream: 'http://127.0.0.1:2', pathPrefix: '/api' },
      { id: 'api-v2', name: 'API 2', upstream: 'http://127.0.0.1:3', pathPrefix: '/api/v2/' },
      { id: 'cloud', name: 'Cloud', upstream: 'http://127.0.0.1:4', host: 'cloud.example.coop' },
    ],
  });
  const routes = createRouteTable(config.services);
  it.each([
    ['localhost', '/', 'root'],
    ['localhost', '/api', 'api'],
    ['localhost', '/api/x', 'api'],
    ['localhost', '/apix', 'root'],
    ['localhost', '/api/v2', 'api-v2'],
    ['localhost', '/api/v2/items', 'api-v2'],
    ['cloud.example.coop', '/api/x', 'cloud'],
  ])('%s %s → %s', (host, path, id) => {
    expect(routes.match(host, path)?.id).toBe(id);
  });
});

describe('spoofable headers', () => {
  it.each(['x-forwarded-user', 'X_Forwarded_User', 'x_forwarded-email', 'remote-user', 'REMOTE_GROUPS', 'remote_name', 'x-forwarded-preferred-username', 'X-Forwarded-Access-Token'])('%s is removed', (name) => {
    expect(isSpoofable(name)).toBe(true);
  });
  it.each(['x-forwarded-for', 'x-request-id', 'remote', 'user', 'authorization'])('%s is kept', (name) => {
    expect(isSpoofable(name)).toBe(false);
  });
});

describe('client address', () => {
  const resolver = createClientAddressResolver(['10.0.0.0/8', '192.168.1.5']);
  it.each([
    ['203.0.113.9', '1.2.3.4', '203.0.113.9'],
    ['10.1.2.3', '1.2.3.4', '1.2.3.4'],
    ['::ffff:10.1.2.3', '1.2.3.4', '1.2.3.4'],
    ['10.1.2.3', '6.6.6.6, 1.2.3.4, 192.168.1.5', '1.2.3.4'],
    ['10.1.2.3', 'garbage', '10.1.2.3'],
    ['192.168.1.6', '1.2.3.4', '192.168.1.6'],
  ])('from %s with X-Forwarded-For %s → %s', (remote, xff, expected) => {
    expect(resolver.resolve(remote, xff)).toBe(expected);
  });
  it('believes nothing without trusted proxies', () => {
    expect(createClientAddressResolver([]).resolve('10.0.0.1', '1.2.3.4')).toBe('10.0.0.1');
  });
});

describe('return URLs and cookies', () => {
  const hosts = new Set(['gw.example.coop', 'cloud.example.coop']);
  it.each([
    ['/app?x=1', '/app?x=1'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['https://cloud.example.coop/files', 'https://cloud.example.coop/files'],
    ['https://evil.example/', '/'],
    ['javascript:alert(1)', '/'],
    ['https://user:pw@cloud.example.coop/', '/'],
    [undefined, '/'],
  ])('%s → %s', (value, expected) => {
    expect(safeReturnTo(value, hosts)).toBe(expected);
  });

  it('reads only a well-formed session cookie, and removes it from what goes upstream', () => {
    const value = 'a'.repeat(43);
    expect(readCookie(`x=1; porta_session=${value}; y=2`, 'porta_session')).toBe(value);
    expect(readCookie(`xporta_session=${value}`, 'porta_session')).toBeUndefined();
    expect(readCookie('porta_session=short', 'porta_session')).toBeUndefined();
    expect(withoutCookie(`x=1; porta_session=${value}; y=2`, 'porta_session')).toBe('x=1; y=2');
    expect(withoutCookie(`porta_session=${value}`, 'porta_session')).toBe('');
    expect(withoutCookie(`my_porta_session=${value}`, 'porta_session')).toBe(`my_porta_session=${value}`);
  });

  it('uses Secure and the __Host- prefix under https', () => {
    const https = cookiePolicy('https://gw.example.coop');
    expect(https.sessionName).toBe('__Host-porta_session');
    const line = setCookie(https, https.sessionName, 'v', 60);
    expect(line).toMatch(/; Secure$/);
    expect(line).toContain('Path=/');
    expect(line).not.toMatch(/Domain=/i);
    const http = cookiePolicy('http://localhost:8080');
    expect(http.sessionName).toBe('porta_session');
    expect(setCookie(http, http.sessionName, 'v', 60)).not.toMatch(/Secure/);
  });
});

describe('deadlines (one timer for every waiting request)', () => {
  it('fires expired items once, in order, and never the ones that are done', async () => {
    const { createDeadlines } = await import('../../gateway/deadlines.ts');
    let at = 0;
    const expired: string[] = [];
    const deadlines = createDeadlines<string>({ ms: 100, onExpired: (item) => expired.push(item), now: () => at });
    deadlines.watch('a');
    at = 10;
    const b = deadlines.watch('b');
    deadlines.watch('c');
    deadlines.done(b);
    deadlines.done(b); // twice: nothing
    at = 105; // a is due, c is not
    await new Promise((resolve) => setTimeout(resolve, 40)); // a sweep runs (every 10 ms for 100 ms deadlines)
    expect(expired).toEqual(['a']);
    at = 200;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(expired).toEqual(['a', 'c']);
    deadlines.watch('d');
    deadlines.close();
    at = 1000;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(expired).toEqual(['a', 'c']);
  });

  it('keeps the others in order whichever one is done (first, middle, last), and a done deadline holds nothing', async () => {
    const { createDeadlines } = await import('../../gateway/deadlines.ts');
    let at = 0;
    const expired: string[] = [];
    const deadlines = createDeadlines<string>({ ms: 100, onExpired: (item) => expired.push(item), now: () => at });
    const watched = ['a', 'b', 'c', 'd', 'e'].map((item) => deadlines.watch(item));
    for (const i of [0, 2, 4]) deadlines.done(watched[i]);
    expect(deadlines.size).toBe(2);
    // What the young-generation collector would otherwise follow from a done deadline (deadlines.ts).
    for (const i of [0, 2, 4]) expect([watched[i].item, watched[i].prev, watched[i].next]).toEqual([undefined, undefined, undefined]);
    const late = deadlines.watch('f');
    deadlines.done(late);
    at = 150;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(expired).toEqual(['b', 'd']);
    expect(deadlines.size).toBe(0);
    expect(watched[1].item).toBeUndefined(); // fired: let go as well
    deadlines.done(watched[1]); // after it fired: nothing
    deadlines.watch('g');
    at = 300;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(expired).toEqual(['b', 'd', 'g']);
    deadlines.close();
  });
});

describe('upstreams: a request waiting for its upstream', () => {
  it('lets go of its first-byte deadline as soon as the client goes away, not when the deadline would fire', async () => {
    const http = await import('node:http');
    const { createUpstreams } = await import('../../gateway/upstreams.ts');
    const { newScope } = await import('../../gateway/scope.ts');
    const { silentLogger } = await import('../../kernel/logger.ts');
    const listen = (server: import('node:http').Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`)));
    // An upstream that takes the request and never answers.
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const silent = http.createServer(() => arrived());
    const upstreamUrl = await listen(silent);
    const config = parseConfig({ gateway: { clientSecret: 'x'.repeat(24) }, services: [{ id: 'app', name: 'App', upstream: upstreamUrl, pathPrefix: '/', timeoutMs: 60_000 }] });
    const upstreams = createUpstreams(config.services, { maxSockets: 4, logger: silentLogger });
    const front = http.createServer((req, res) => {
      const scope = newScope(req, 'proxy', Date.now());
      scope.res = res;
      scope.service = config.services[0];
      upstreams.web(scope);
    });
    const frontUrl = await listen(front);
    try {
      const client = http.get(`${frontUrl}/page`);
      client.on('error', () => undefined);
      await reached;
      expect(upstreams.awaitingFirstByte()).toBe(1);
      client.destroy();
      const deadline = Date.now() + 2_000;
      while (upstreams.awaitingFirstByte() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(upstreams.awaitingFirstByte()).toBe(0); // without the client-gone event: 1 for 60 s
    } finally {
      upstreams.close();
      front.closeAllConnections();
      silent.closeAllConnections();
      await Promise.all([new Promise((resolve) => front.close(resolve)), new Promise((resolve) => silent.close(resolve))]);
    }
  });
});

describe('meter', () => {
  it('a usage record that cannot be made is logged and refuses billable traffic, without throwing from the close listener', async () => {
    const { createMeter } = await import('../../gateway/meter.ts');
    const { newScope } = await import('../../gateway/scope.ts');
    const errors: string[] = [];
    const logger = { ...(await import('../../kernel/logger.ts')).silentLogger, error: (_o: unknown, msg?: string) => void errors.push(String(msg)) };
    const meter = createMeter({
      recordUsage: () => {
        throw new TypeError('A usage record needs a subject.');
      },
      clock: { now: () => 1_000 },
      logger: logger as never,
    });
    const scope = newScope({ headers: {}, method: 'GET', url: '/' } as never, 'proxy', 1_000);
    scope.service = { id: 'app', name: 'App', upstream: 'http://127.0.0.1:1', pathPrefix: '/' } as never;
    expect(() => meter.record(scope)).not.toThrow();
    expect(meter.accepting()).toBe(false);
    expect(errors).toContain('a usage record could not be made');
  });
});

describe('usage record ids', () => {
  it('are unique within a sequence and across sequences (processes), and fit a ledger line', async () => {
    const { idSequence } = await import('../../kernel/ids.ts');
    const { isLedgerId } = await import('../../store/ledger-entries.ts');
    const one = idSequence();
    const other = idSequence();
    const ids = [...Array.from({ length: 5000 }, one), ...Array.from({ length: 5000 }, other)];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every(isLedgerId)).toBe(true);
    // The random part differs between sequences: two gateway processes never make the same id.
    expect(ids[0].split('.')[0]).not.toBe(ids[5000].split('.')[0]);
    expect(ids[0].split('.')[0]).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
