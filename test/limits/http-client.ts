/** A plain HTTP client for the limits tests: chooses Content-Length or chunked bodies explicitly. */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface Call {
  method: string;
  headers?: Record<string, string>;
  /** One buffer is sent with Content-Length; an array is sent chunked, piece by piece. */
  body?: Buffer | Buffer[];
}

export function call(url: string, options: Call): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { ...options.headers };
    if (Buffer.isBuffer(options.body)) headers['content-length'] = options.body.length;
    if (Array.isArray(options.body)) headers['transfer-encoding'] = 'chunked';
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: options.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      // A server may close the connection after answering while we still send: the answer counts.
      if (!answered) reject(err);
    });
    if (Array.isArray(options.body)) {
      const pieces = [...options.body];
      const next = () => {
        if (req.destroyed) return;
        const piece = pieces.shift();
        if (piece === undefined) {
          req.end();
          return;
        }
        if (req.write(piece)) setImmediate(next);
        else req.once('drain', next);
      };
      next();
    } else req.end(options.body);
  });
}
