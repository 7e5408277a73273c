/**
 * Classifies a Nextcloud WebDAV request by the way it adds bytes (shared/reference/integrations.md
 * §2.2). Pure: method, path and headers in, a `Shape` out. Paths may sit under a prefix (Nextcloud
 * served from a sub-folder); `prefix` keeps it for the enforcer's own PROPFINDs.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Shape =
  /** PUT of a file. `declared`: what the client announced (Sabre's rules); `streamed`: no Content-Length. */
  | { kind: 'put'; prefix: string; user?: string; path: string; declared?: number; streamed: boolean }
  /** Chunked upload v2: MKCOL of the upload folder, with the announced `OC-Total-Length`. */
  | { kind: 'upload-start'; prefix: string; user: string; upload: string; declared?: number }
  | { kind: 'upload-chunk'; prefix: string; user: string; upload: string; length?: number }
  /** MOVE of `.file`: assembles the chunks at `destination` (a path in the user's files). */
  | { kind: 'upload-assemble'; prefix: string; user: string; upload: string; destination?: string }
  | { kind: 'upload-abort'; prefix: string; user: string; upload: string }
  | { kind: 'bulk'; prefix: string; length?: number }
  /** COPY inside the user's files: adds the size of the source. */
  | { kind: 'copy'; prefix: string; user?: string; path: string; destination?: string }
  /** Frees space (DELETE, MOVE inside the files): usage must be read again afterwards. */
  | { kind: 'shrink' }
  /** The ownCloud chunking removed in Nextcloud 30. */
  | { kind: 'legacy-chunked' }
  | { kind: 'none' };

const NUMBER = /^\d+$/;

function numeric(value: string | string[] | undefined): number | undefined {
  return typeof value === 'string' && NUMBER.test(value.trim()) ? Number(value.trim()) : undefined;
}

/** Sabre `QuotaPlugin::getLength`: X-Expected-Entity-Length, else Content-Length; max'ed with OC-Total-Length. */
export function announcedLength(headers: IncomingHttpHeaders): number | undefined {
  const length = numeric(headers['x-expected-entity-length']) ?? numeric(headers['content-length']);
  const total = numeric(headers['oc-total-length']);
  if (length === undefined) return total;
  return total === undefined ? length : Math.max(length, total);
}

interface Location {
  prefix: string;
  area: 'files' | 'legacy' | 'uploads' | 'bulk' | 'other';
  user?: string;
  rest: string;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function locate(path: string): Location {
  const at = path.indexOf('/remote.php/');
  if (at < 0) return { prefix: '', area: 'other', rest: path };
  const prefix = path.slice(0, at);
  const tail = path.slice(at + '/remote.php'.length);
  if (tail === '/dav/bulk') return { prefix, area: 'bulk', rest: '' };
  let m = /^\/dav\/(files|uploads)\/([^/]+)(\/.*)?$/.exec(tail);
  if (m) return { prefix, area: m[1] as 'files' | 'uploads', user: decode(m[2]), rest: (m[3] ?? '').replace(/\/+$/, '') };
  m = /^\/webdav(\/.*)?$/.exec(tail);
  if (m) return { prefix, area: 'legacy', rest: (m[1] ?? '').replace(/\/+$/, '') };
  return { prefix, area: 'other', rest: tail };
}

/** The path part of a `Destination` header (absolute URL or absolute path). */
export function destinationPath(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers.destination;
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    return /^https?:\/\//i.test(raw) ? new URL(raw).pathname : raw.split('?')[0];
  } catch {
    return undefined;
  }
}

const LEGACY_CHUNK_NAME = /-chunking-\d+-\d+-\d+$/;

export function classify(method: string, path: string, headers: IncomingHttpHeaders): Shape {
  const where = locate(path);
  if (where.area === 'other') return { kind: 'none' };
  if (headers['oc-chunked'] !== undefined || ((where.area === 'legacy' || where.area === 'files') && method === 'PUT' && LEGACY_CHUNK_NAME.test(where.rest))) {
    return { kind: 'legacy-chunked' };
  }
  const streamed = headers['content-length'] === undefined;
  switch (where.area) {
    case 'bulk':
      return method === 'POST' ? { kind: 'bulk', prefix: where.prefix, length: numeric(headers['content-length']) } : { kind: 'none' };
    case 'files':
    case 'legacy': {
      const user = where.area === 'files' ? where.user : undefined;
      if (method === 'PUT') return { kind: 'put', prefix: where.prefix, user, path: where.rest, declared: announcedLength(headers), streamed };
      if (method === 'COPY') {
        const dest = destinationPath(headers);
        return { kind: 'copy', prefix: where.prefix, user, path: where.rest, destination: dest === undefined ? undefined : locate(dest).rest };
      }
      if (method === 'DELETE' || method === 'MOVE') return { kind: 'shrink' };
      return { kind: 'none' };
    }
    case 'uploads': {
      const user = where.user as string;
      const [upload, chunk, ...more] = where.rest.split('/').filter((s) => s !== '');
      if (!upload || more.length > 0) return { kind: 'none' };
      if (method === 'MKCOL' && chunk === undefined) return { kind: 'upload-start', prefix: where.prefix, user, upload, declared: numeric(headers['oc-total-length']) };
      if (method === 'PUT' && chunk !== undefined) return { kind: 'upload-chunk', prefix: where.prefix, user, upload, length: numeric(headers['content-length']) };
      if (method === 'MOVE' && chunk === '.file') {
        const dest = destinationPath(headers);
        const target = dest === undefined ? undefined : locate(dest);
        return { kind: 'upload-assemble', prefix: where.prefix, user, upload, destination: target && target.area === 'files' ? target.rest : undefined };
      }
      if (method === 'DELETE' && chunk === undefined) return { kind: 'upload-abort', prefix: where.prefix, user, upload };
      return { kind: 'none' };
    }
  }
}
