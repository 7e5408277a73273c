/**
 * The enforcer's own questions to the WebDAV upstream: how many bytes an account uses (RFC 4331
 * `quota-used-bytes` on its files root) and how large one file or folder is (`oc:size`, else
 * `getcontentlength`). Asked with the caller's own upstream credentials, over a keep-alive agent.
 */
import http from 'node:http';
import https from 'node:https';

export interface DavUsageSource {
  /** Bytes the account's files use upstream. Rejects when the upstream cannot say. */
  usedBytes(user: string, prefix: string, headers: Record<string, string>): Promise<number>;
  /** Size of a file or folder, or undefined when it does not exist. */
  sizeOf(user: string | undefined, prefix: string, path: string, headers: Record<string, string>): Promise<number | undefined>;
}

const USAGE_BODY = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/></d:prop></d:propfind>';
const SIZE_BODY = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:getcontentlength/><oc:size/><d:resourcetype/></d:prop></d:propfind>';

/** The first value of an element, whatever its namespace prefix. */
export function propValue(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[A-Za-z][\\w.-]*:)?${name}(?:\\s[^>]*)?>([^<]*)</`).exec(xml);
  return m?.[1]?.trim();
}

function encodePath(path: string): string {
  return path.split('/').map((s) => encodeURIComponent(s)).join('/');
}

export function createDavUsageSource(upstream: string, options: { timeoutMs?: number } = {}): DavUsageSource {
  const base = new URL(upstream);
  const secure = base.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  const timeoutMs = options.timeoutMs ?? 10_000;

  function propfind(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port,
          method: 'PROPFIND',
          path,
          agent,
          headers: { ...headers, depth: '0', 'content-type': 'application/xml; charset=utf-8', 'content-length': Buffer.byteLength(body) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`PROPFIND took longer than ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  const filesRoot = (user: string | undefined, prefix: string) =>
    user === undefined ? `${prefix}/remote.php/webdav` : `${prefix}/remote.php/dav/files/${encodeURIComponent(user)}`;

  return {
    async usedBytes(user, prefix, headers) {
      const { status, text } = await propfind(`${filesRoot(user, prefix)}/`, USAGE_BODY, headers);
      if (status !== 207) throw new Error(`PROPFIND of the files root answered ${status}`);
      const used = Number(propValue(text, 'quota-used-bytes'));
      if (!Number.isFinite(used) || used < 0) throw new Error('PROPFIND of the files root gave no quota-used-bytes');
      return used;
    },
    async sizeOf(user, prefix, path, headers) {
      const { status, text } = await propfind(`${filesRoot(user, prefix)}${encodePath(path)}`, SIZE_BODY, headers);
      if (status === 404) return undefined;
      if (status !== 207) throw new Error(`PROPFIND of a file answered ${status}`);
      const size = Number(propValue(text, 'size') ?? propValue(text, 'getcontentlength'));
      return Number.isFinite(size) && size >= 0 ? size : undefined;
    },
  };
}
