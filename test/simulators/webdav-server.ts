/**
 * A Nextcloud-like WebDAV server for tests. It follows the protocol Nextcloud speaks (see
 * shared/reference/integrations.md §2), not Nextcloud's internals:
 * - `/remote.php/dav/files/<uid>/…` and the legacy `/remote.php/webdav/…` (user from the credentials);
 * - PUT with `Content-Length` or `Transfer-Encoding: chunked` (+ `X-Expected-Entity-Length`); the body
 *   is written to a part file and only becomes the file when it arrived whole, so an upload cut off
 *   mid-stream leaves nothing behind (like Nextcloud's `.part` files); 201 new, 204 overwrite;
 * - MKCOL, DELETE, COPY and MOVE with `Destination` (absolute URL or path) and `Overwrite`;
 * - chunked upload v2: `MKCOL /remote.php/dav/uploads/<uid>/<id>`, chunk PUTs (`OC-Total-Length`
 *   checked against quota on every chunk, as since server PR #42679), `MOVE …/.file` assembling the
 *   chunks in name order (quota checked on the assembled size), `DELETE` of the upload folder;
 * - PROPFIND Depth 0/1 with RFC 4331 `quota-used-bytes` / `quota-available-bytes`, `getcontentlength`,
 *   `resourcetype` and `oc:size`;
 * - bulk upload `POST /remote.php/dav/bulk` (`multipart/related`, per part `X-File-Path`,
 *   `Content-Length` and `X-File-MD5` or `OC-Checksum`), answered 200 with a JSON result per file;
 * - its own quota (Sabre `QuotaPlugin` rules: length = `X-Expected-Entity-Length` or `Content-Length`,
 *   max'ed with `OC-Total-Length`) answering 507 with Sabre's DAV error XML;
 * - the legacy `OC-Chunked` protocol was removed in Nextcloud 30: answered 400 here too;
 * - the OCS user API as an admin (`GET`/`PUT /ocs/v1.php/cloud/users/<uid>`, `OCS-APIRequest: true`,
 *   `key=quota&value=5 GB|<bytes>|none`), answering OCS v1 XML (HTTP 200, statuscode 100).
 * Users authenticate with `X-Forwarded-User` (header auth behind a trusted proxy) or Basic credentials.
 * Trash bin, versions and shares are not simulated. Tests read `usedBytes(user)` and `peakUsedBytes(user)`
 * to assert what the upstream actually holds.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

interface Upload {
  chunks: Map<string, Buffer>;
  destination?: string;
}

interface UserSpace {
  files: Map<string, Buffer>;
  dirs: Set<string>;
  uploads: Map<string, Upload>;
  quota?: number;
  peak: number;
}

export interface WebdavSimulatorOptions {
  /** Quota per user in bytes (absent: unlimited). */
  quotas?: Record<string, number>;
  /** Basic credentials accepted: user → password. */
  passwords?: Record<string, string>;
  /** The admin of the OCS user API. */
  admin?: { user: string; password: string };
}

export interface WebdavSimulator {
  url: string;
  port: number;
  server: Server;
  /** Bytes of the files the user holds (what counts against quota). */
  usedBytes(user: string): number;
  /** The largest `usedBytes` ever reached by the user. */
  peakUsedBytes(user: string): number;
  /** Body bytes that arrived for the user's uploads, kept or not (cut-off uploads included). */
  bytesReceived(user: string): number;
  /** Bytes sitting in chunk-upload staging for the user. */
  stagedBytes(user: string): number;
  fileSize(user: string, path: string): number | undefined;
  setQuota(user: string, bytes: number | undefined): void;
  quotaOf(user: string): number | undefined;
  /** Puts a file in place directly (test setup). */
  seed(user: string, path: string, content: Buffer): void;
  /** How many requests of each method arrived. */
  counts: Record<string, number>;
  close(): Promise<void>;
}

const DAV_ERROR = (exception: string, message: string) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n  <s:exception>Sabre\\DAV\\Exception\\${exception}</s:exception>\n  <s:message>${escapeXml(message)}</s:message>\n</d:error>\n`;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

class DavError extends Error {
  readonly status: number;
  readonly exception: string;
  constructor(status: number, exception: string, message: string) {
    super(message);
    this.status = status;
    this.exception = exception;
  }
}

function numeric(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** Sabre QuotaPlugin::getLength. */
function declaredLength(req: IncomingMessage): number | undefined {
  const length = numeric(req.headers['x-expected-entity-length']) ?? numeric(req.headers['content-length']);
  const total = numeric(req.headers['oc-total-length']);
  if (length === undefined) return total;
  return total === undefined ? length : Math.max(length, total);
}

function readBody(req: IncomingMessage, onBytes: (n: number) => void = () => undefined): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (value: Buffer | undefined) => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      onBytes(c.length);
    });
    req.on('end', () => finish(Buffer.concat(chunks)));
    // Cut off mid-stream: the part file is thrown away.
    req.on('aborted', () => finish(undefined));
    req.on('error', () => finish(undefined));
    req.on('close', () => {
      if (!req.complete) finish(undefined);
    });
  });
}

function normalise(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.map((p) => decodeURIComponent(p)).join('/');
}

export async function startWebdavSimulator(options: WebdavSimulatorOptions = {}): Promise<WebdavSimulator> {
  const users = new Map<string, UserSpace>();
  const received = new Map<string, number>();
  const counter = (user: string) => (n: number) => received.set(user, (received.get(user) ?? 0) + n);
  const counts: Record<string, number> = {};

  const space = (user: string): UserSpace => {
    let s = users.get(user);
    if (!s) {
      s = { files: new Map(), dirs: new Set(['']), uploads: new Map(), quota: options.quotas?.[user], peak: 0 };
      users.set(user, s);
    }
    return s;
  };
  const used = (s: UserSpace) => [...s.files.values()].reduce((n, b) => n + b.length, 0);
  const free = (s: UserSpace) => (s.quota === undefined ? Infinity : s.quota - used(s));
  const sizeOf = (s: UserSpace, path: string): number => {
    const file = s.files.get(path);
    if (file) return file.length;
    let n = 0;
    for (const [p, b] of s.files) if (p.startsWith(path === '' ? '' : `${path}/`)) n += b.length;
    return n;
  };
  const checkQuota = (s: UserSpace, length: number | undefined, path: string) => {
    if (length === undefined || s.quota === undefined) return;
    const available = free(s) + (s.files.get(path)?.length ?? 0);
    if (length > available) throw new DavError(507, 'InsufficientStorage', `Insufficient space in ${path}, ${length} required, ${Math.max(0, free(s))} available`);
  };
  const store = (s: UserSpace, path: string, content: Buffer) => {
    const parent = path.split('/').slice(0, -1).join('/');
    if (!s.dirs.has(parent)) throw new DavError(409, 'Conflict', 'Parent node does not exist');
    if (s.dirs.has(path)) throw new DavError(409, 'Conflict', 'A collection exists at this path');
    s.files.set(path, content);
    s.peak = Math.max(s.peak, used(s));
  };

  function authenticate(req: IncomingMessage): string {
    const header = req.headers['x-forwarded-user'];
    if (typeof header === 'string' && header !== '') return header;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [user, password] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (options.passwords?.[user] !== undefined && options.passwords[user] === password) return user;
    }
    throw new DavError(401, 'NotAuthenticated', 'No public access to this resource., Username or password was incorrect');
  }

  /** Resolves a request path to (user, area, path within the area). */
  function locate(urlPath: string, user: string): { area: 'files' | 'uploads' | 'bulk'; path: string } {
    if (urlPath === '/remote.php/dav/bulk') return { area: 'bulk', path: '' };
    const legacy = urlPath.match(/^\/remote\.php\/webdav(\/.*)?$/);
    if (legacy) return { area: 'files', path: normalise(legacy[1] ?? '') };
    const m = urlPath.match(/^\/remote\.php\/dav\/(files|uploads)\/([^/]+)(\/.*)?$/);
    if (!m) throw new DavError(404, 'NotFound', 'File not found');
    if (decodeURIComponent(m[2]) !== user) throw new DavError(403, 'Forbidden', 'Principal does not match the authenticated user');
    return { area: m[1] as 'files' | 'uploads', path: normalise(m[3] ?? '') };
  }

  function destinationOf(req: IncomingMessage, user: string): string {
    const raw = req.headers.destination;
    if (typeof raw !== 'string') throw new DavError(400, 'BadRequest', 'The Destination header was not supplied');
    const path = raw.startsWith('http') ? new URL(raw).pathname : raw;
    const target = locate(path, user);
    if (target.area !== 'files') throw new DavError(400, 'BadRequest', 'The destination is not in the files area');
    return target.path;
  }

  function multistatus(s: UserSpace, user: string, path: string, depth: string): string {
    const entries: string[] = [];
    const entry = (p: string) => {
      const isDir = s.dirs.has(p);
      const href = `/remote.php/dav/files/${encodeURIComponent(user)}/${p.split('/').map(encodeURIComponent).join('/')}${isDir && p !== '' ? '/' : ''}`;
      const props = isDir
        ? `<d:resourcetype><d:collection/></d:resourcetype><d:quota-used-bytes>${sizeOf(s, p)}</d:quota-used-bytes><d:quota-available-bytes>${s.quota === undefined ? -3 : Math.max(0, free(s))}</d:quota-available-bytes><oc:size>${sizeOf(s, p)}</oc:size>`
        : `<d:resourcetype/><d:getcontentlength>${s.files.get(p)?.length ?? 0}</d:getcontentlength><oc:size>${s.files.get(p)?.length ?? 0}</oc:size>`;
      entries.push(`<d:response><d:href>${escapeXml(href)}</d:href><d:propstat><d:prop>${props}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`);
    };
    entry(path);
    if (depth !== '0' && s.dirs.has(path)) {
      const prefix = path === '' ? '' : `${path}/`;
      const children = new Set<string>();
      for (const p of [...s.files.keys(), ...s.dirs]) {
        if (p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) children.add(p);
      }
      for (const c of children) entry(c);
    }
    return `<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">${entries.join('')}</d:multistatus>`;
  }

  async function handleBulk(req: IncomingMessage, res: ServerResponse, s: UserSpace): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    if (!type.startsWith('multipart/related') || !boundary) throw new DavError(400, 'BadRequest', 'Improper Content-type format. Boundary may be missing');
    const body = await readBody(req);
    if (!body) return;
    const result: Record<string, unknown> = {};
    const delimiter = Buffer.from(`--${boundary}`);
    let pos = body.indexOf(delimiter);
    if (pos < 0) throw new DavError(400, 'BadRequest', 'Boundary not found');
    for (;;) {
      pos += delimiter.length;
      if (body.subarray(pos, pos + 2).toString() === '--') break;
      pos += 2; // CRLF
      const headerEnd = body.indexOf('\r\n\r\n', pos);
      if (headerEnd < 0) throw new DavError(400, 'BadRequest', 'Unable to parse headers');
      const headers: Record<string, string> = {};
      for (const line of body.subarray(pos, headerEnd).toString().split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = numeric(headers['content-length']);
      if (length === undefined) throw new DavError(411, 'LengthRequired', 'The Content-Length header must not be null');
      const start = headerEnd + 4;
      const content = body.subarray(start, start + length);
      if (content.length !== length) throw new DavError(400, 'BadRequest', 'Unexpected end of the body');
      const filePath = normalise(headers['x-file-path'] ?? '');
      const md5 = headers['x-file-md5'];
      const checksum = headers['oc-checksum'];
      if (!md5 && !checksum) throw new DavError(400, 'BadRequest', 'The X-File-MD5 header must not be null');
      if (md5 && createHash('md5').update(content).digest('hex') !== md5.toLowerCase()) {
        result[`/${filePath}`] = { error: true, message: 'Computed md5 hash is incorrect.' };
      } else {
        try {
          checkQuota(s, length, filePath);
          store(s, filePath, Buffer.from(content));
          result[`/${filePath}`] = { error: false, etag: createHash('md5').update(content).digest('hex'), fileid: String(s.files.size), permissions: 'RGDNVW' };
        } catch (err) {
          result[`/${filePath}`] = { error: true, message: (err as Error).message };
        }
      }
      pos = body.indexOf(delimiter, start + length);
      if (pos < 0) throw new DavError(400, 'BadRequest', 'Boundary not found');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  }

  const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };
  function parseQuota(value: string): number | undefined | 'invalid' {
    if (value === 'none' || value === 'default') return undefined;
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?\s*$/i.exec(value);
    if (!m) return 'invalid';
    return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]);
  }

  function ocs(res: ServerResponse, httpStatus: number, statuscode: number, message: string, data = ''): void {
    res.writeHead(httpStatus, { 'content-type': 'application/xml; charset=utf-8' });
    res.end(`<?xml version="1.0"?>\n<ocs><meta><status>${statuscode === 100 ? 'ok' : 'failure'}</status><statuscode>${statuscode}</statuscode><message>${escapeXml(message)}</message></meta><data>${data}</data></ocs>`);
  }

  async function handleOcs(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const auth = req.headers.authorization ?? '';
    const [user, password] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':') : [];
    if (req.headers['ocs-apirequest'] !== 'true') return ocs(res, 401, 997, 'CSRF check failed');
    if (!options.admin || user !== options.admin.user || password !== options.admin.password) return ocs(res, 401, 997, 'Current user is not logged in');
    const s = space(uid);
    if (req.method === 'PUT') {
      const body = new URLSearchParams((await readBody(req))?.toString() ?? '');
      if (body.get('key') !== 'quota') return ocs(res, 200, 102, 'Invalid key');
      const quota = parseQuota(body.get('value') ?? '');
      if (quota === 'invalid') return ocs(res, 200, 102, 'Invalid quota value');
      s.quota = quota;
      return ocs(res, 200, 100, 'OK');
    }
    const u = used(s);
    const total = s.quota === undefined ? u : s.quota;
    return ocs(res, 200, 100, 'OK', `<id>${escapeXml(uid)}</id><enabled>1</enabled><quota><free>${s.quota === undefined ? -3 : Math.max(0, s.quota - u)}</free><used>${u}</used><total>${total}</total><relative>${total > 0 ? ((u / total) * 100).toFixed(2) : 0}</relative><quota>${s.quota ?? -3}</quota></quota>`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    counts[method] = (counts[method] ?? 0) + 1;
    const url = new URL(req.url ?? '/', 'http://sim');
    const ocsUser = /^\/ocs\/v[12]\.php\/cloud\/users\/([^/]+)$/.exec(url.pathname);
    if (ocsUser) return handleOcs(req, res, decodeURIComponent(ocsUser[1]));
    const user = authenticate(req);
    const s = space(user);
    const { area, path } = locate(url.pathname, user);
    if (area === 'bulk') {
      if (method !== 'POST') throw new DavError(405, 'MethodNotAllowed', 'Only POST on the bulk endpoint');
      return handleBulk(req, res, s);
    }
    if (req.headers['oc-chunked'] !== undefined) throw new DavError(400, 'BadRequest', 'Legacy chunked uploads (OC-Chunked) are not supported');

    if (area === 'uploads') {
      const [id, chunk, ...rest] = path.split('/');
      if (!id || rest.length > 0) throw new DavError(404, 'NotFound', 'Upload not found');
      if (method === 'MKCOL' && chunk === undefined) {
        if (s.uploads.has(id)) throw new DavError(405, 'MethodNotAllowed', 'The resource you tried to create already exists');
        const dest = req.headers.destination;
        s.uploads.set(id, { chunks: new Map(), destination: typeof dest === 'string' ? destinationOf(req, user) : undefined });
        res.writeHead(201).end();
        return;
      }
      const upload = s.uploads.get(id);
      if (!upload) throw new DavError(404, 'NotFound', 'Upload not found');
      if (method === 'DELETE' && chunk === undefined) {
        s.uploads.delete(id);
        res.writeHead(204).end();
        return;
      }
      if (method === 'PUT' && chunk !== undefined) {
        const total = numeric(req.headers['oc-total-length']);
        if (total !== undefined) {
          const destination = upload.destination ?? (typeof req.headers.destination === 'string' ? destinationOf(req, user) : '');
          checkQuota(s, total, destination);
        }
        const body = await readBody(req, counter(user));
        if (!body) return;
        upload.chunks.set(chunk, body);
        res.writeHead(201).end();
        return;
      }
      if (method === 'MOVE' && chunk === '.file') {
        const destination = destinationOf(req, user);
        const names = [...upload.chunks.keys()].sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b)));
        const assembled = Buffer.concat(names.map((n) => upload.chunks.get(n) as Buffer));
        const expected = numeric(req.headers['oc-total-length']);
        if (expected !== undefined && expected !== assembled.length) throw new DavError(400, 'BadRequest', `Chunks on server do not sum up to ${expected} but to ${assembled.length} bytes`);
        checkQuota(s, assembled.length, destination);
        const existed = s.files.has(destination);
        store(s, destination, assembled);
        s.uploads.delete(id);
        res.writeHead(existed ? 204 : 201).end();
        return;
      }
      if (method === 'PROPFIND') {
        res.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' }).end('<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"/>');
        return;
      }
      throw new DavError(405, 'MethodNotAllowed', `${method} is not allowed here`);
    }

    switch (method) {
      case 'PROPFIND': {
        if (!s.files.has(path) && !s.dirs.has(path)) throw new DavError(404, 'NotFound', `File with name ${path} could not be located`);
        res.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' }).end(multistatus(s, user, path, String(req.headers.depth ?? '1')));
        return;
      }
      case 'GET': {
        const file = s.files.get(path);
        if (!file) throw new DavError(404, 'NotFound', `File with name ${path} could not be located`);
        res.writeHead(200, { 'content-length': file.length }).end(file);
        return;
      }
      case 'PUT': {
        if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) throw new DavError(411, 'LengthRequired', 'Length Required');
        checkQuota(s, declaredLength(req), path);
        const body = await readBody(req, counter(user));
        if (!body) return;
        // The storage layer checks the real size too (a chunked body has no declared length).
        checkQuota(s, body.length, path);
        const existed = s.files.has(path);
        store(s, path, body);
        res.writeHead(existed ? 204 : 201).end();
        return;
      }
      case 'MKCOL': {
        if (s.dirs.has(path) || s.files.has(path)) throw new DavError(405, 'MethodNotAllowed', 'The resource you tried to create already exists');
        const parent = path.split('/').slice(0, -1).join('/');
        if (!s.dirs.has(parent)) throw new DavError(409, 'Conflict', 'Parent node does not exist');
        s.dirs.add(path);
        res.writeHead(201).end();
        return;
      }
      case 'DELETE': {
        if (s.files.delete(path)) {
          res.writeHead(204).end();
          return;
        }
        if (!s.dirs.has(path) || path === '') throw new DavError(404, 'NotFound', `File with name ${path} could not be located`);
        for (const p of [...s.files.keys()]) if (p.startsWith(`${path}/`)) s.files.delete(p);
        for (const d of [...s.dirs]) if (d === path || d.startsWith(`${path}/`)) s.dirs.delete(d);
        res.writeHead(204).end();
        return;
      }
      case 'COPY':
      case 'MOVE': {
        const destination = destinationOf(req, user);
        const overwrite = String(req.headers.overwrite ?? 'T').toUpperCase() !== 'F';
        const isFile = s.files.has(path);
        if (!isFile && !s.dirs.has(path)) throw new DavError(404, 'NotFound', `File with name ${path} could not be located`);
        const existed = s.files.has(destination) || s.dirs.has(destination);
        if (existed && !overwrite) throw new DavError(412, 'PreconditionFailed', 'Destination exists and Overwrite is F');
        if (method === 'COPY') checkQuota(s, sizeOf(s, path), destination);
        const moved: Array<[string, Buffer]> = [];
        for (const [p, b] of s.files) if (p === path || p.startsWith(`${path}/`)) moved.push([destination + p.slice(path.length), b]);
        const dirs = [...s.dirs].filter((d) => d === path || d.startsWith(`${path}/`)).map((d) => destination + d.slice(path.length));
        if (method === 'MOVE') {
          for (const p of [...s.files.keys()]) if (p === path || p.startsWith(`${path}/`)) s.files.delete(p);
          for (const d of [...s.dirs]) if (d === path || d.startsWith(`${path}/`)) s.dirs.delete(d);
        }
        for (const d of dirs) s.dirs.add(d);
        for (const [p, b] of moved) store(s, p, Buffer.from(b));
        res.writeHead(existed ? 204 : 201).end();
        return;
      }
      default:
        throw new DavError(405, 'MethodNotAllowed', `${method} is not allowed`);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return;
      const e = err instanceof DavError ? err : new DavError(500, 'ServiceUnavailable', (err as Error).message);
      // Like Sabre, answer errors without reading the rest of an upload; drain it so keep-alive survives.
      req.resume();
      res.writeHead(e.status, { 'content-type': 'application/xml; charset=utf-8' }).end(DAV_ERROR(e.exception, e.message));
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    counts,
    usedBytes: (user) => used(space(user)),
    bytesReceived: (user) => received.get(user) ?? 0,
    peakUsedBytes: (user) => space(user).peak,
    stagedBytes: (user) => [...space(user).uploads.values()].reduce((n, u) => n + [...u.chunks.values()].reduce((m, b) => m + b.length, 0), 0),
    fileSize: (user, path) => space(user).files.get(normalise(path))?.length,
    quotaOf: (user) => space(user).quota,
    setQuota: (user, bytes) => {
      space(user).quota = bytes;
    },
    seed: (user, path, content) => {
      const s = space(user);
      const parts = normalise(path).split('/');
      for (let i = 1; i < parts.length; i++) s.dirs.add(parts.slice(0, i).join('/'));
      store(s, normalise(path), content);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
