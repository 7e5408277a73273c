/**
 * The `webdav` service enforcer: storage quotas on Oficina (Nextcloud).
 *
 * Every request shape that adds bytes (shapes.ts) reserves them in `StorageQuota` before it is
 * forwarded, and gives the reservation back when the exchange is over; a write that reached the
 * upstream first adds its bytes to the usage every gateway process sees (storage-quota.ts), and a
 * delete makes them read the upstream's figure again. Over quota: 507
 * with Sabre's DAV error. Nextcloud's own quota stays on too (writes the gateway cannot see, such as
 * office editing, are only checked there): the gateway makes the plan's limit hold for every DAV
 * upload, including concurrent ones through several gateway processes.
 *
 * Shapes and how much each reserves:
 * - PUT with Content-Length (or X-Expected-Entity-Length / OC-Total-Length): the announced size,
 *   up front. Overwrite: the full size first; only when that does not fit is the size of the file
 *   being replaced asked (one PROPFIND) and credited, so the common case costs nothing extra.
 * - PUT with `Transfer-Encoding: chunked`: reserved in blocks as the bytes stream; the block that
 *   does not fit is not forwarded and the upload is cut (metered-body.ts).
 * - chunked upload v2: `OC-Total-Length` reserved at MKCOL; each chunk PUT (Content-Length required)
 *   reserves what goes beyond it; `MOVE .file` checks the bytes actually sent, whatever was declared.
 * - bulk POST: the request's Content-Length (a little more than the files: part headers count too).
 * - COPY: the size of the source (PROPFIND `oc:size`).
 * - legacy `OC-Chunked`: refused (removed from Nextcloud 30).
 */
import type { IncomingMessage } from 'node:http';
import type { CounterStore, KeyValueStore } from '../../../store/types.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { silentLogger } from '../../../kernel/logger.ts';
import { PASS, type EnforcedRequest, type Outcome, type Refusal, type ServiceEnforcer } from '../types.ts';
import { classify, type Shape } from './shapes.ts';
import { StorageQuota, type QuotaCheck, type QuotaHolder } from './storage-quota.ts';
import { createDavUsageSource, type DavUsageSource } from './upstream-dav.ts';
import { davError, insufficientStorage } from './answers.ts';
import { MeteredBody } from './metered-body.ts';

export interface StorageHolder extends QuotaHolder {
  /** The plan named in messages. */
  plan: string;
  /** The account's Nextcloud user id (the `<uid>` of `/remote.php/dav/files/<uid>/`). */
  uid: string;
}

export interface StorageQuotaEnforcerOptions {
  service: { id: string; name: string; upstream: string };
  counters: CounterStore;
  kv: KeyValueStore;
  /** How the enforcer reads usage and sizes upstream; by default PROPFIND on `service.upstream`. */
  usage?: DavUsageSource;
  /**
   * Whose quota a request uses, or undefined for none (unlimited, or no signed-in account). Default:
   * the caller's own account, Nextcloud uid = account id (user_oidc with `--unique-uid=0`), limit =
   * `limits.storage`. A collective's pooled quota returns the collective's key and limit here.
   */
  holderOf?: (request: EnforcedRequest) => StorageHolder | undefined;
  /** The name shown for the plans of the limits (e.g. the policy's plan names); default the last plan id. */
  planName?: (planIds: string[]) => string;
  /** Where a person gets more space (shown in the 507 message). */
  moreSpaceUrl?: string;
  /** Seconds a usage read from the upstream is trusted (10–30 s is a good range). Default 15. */
  cacheSeconds?: number;
  /** Seconds before an abandoned reservation disappears. Default 86400 (Nextcloud drops unfinished uploads after 24 h). */
  reservationTtlSeconds?: number;
  /** Reservation step for uploads of unknown size. Default 8 MiB. */
  blockBytes?: number;
  logger?: Logger;
}

const UPLOAD_TTL = 86_400;
const ok = (status: number | undefined) => status !== undefined && status >= 200 && status < 300;

/** The plan named in a 507 message: by default the last plan id of the limits (subscriptions come after the default plan). */
const lastPlan = (planIds: string[]) => planIds.at(-1) ?? 'free';

export function defaultStorageHolder(request: EnforcedRequest, planName: (planIds: string[]) => string = lastPlan): StorageHolder | undefined {
  const { subject, limits } = request;
  if (subject === undefined || !limits || limits.storage === null) return undefined;
  return { key: subject, uid: subject, limit: limits.storage, plan: planName(limits.plans) };
}

export function createStorageQuotaEnforcer(options: StorageQuotaEnforcerOptions): ServiceEnforcer & { quota: StorageQuota } {
  const logger = options.logger ?? silentLogger;
  const usage = options.usage ?? createDavUsageSource(options.service.upstream);
  const holderOf = options.holderOf ?? ((request: EnforcedRequest) => defaultStorageHolder(request, options.planName));
  const blockBytes = options.blockBytes ?? 8 * 1024 * 1024;
  const { counters } = options;
  const quota = new StorageQuota({
    counters,
    kv: options.kv,
    cacheSeconds: options.cacheSeconds ?? 15,
    reservationTtlSeconds: options.reservationTtlSeconds ?? UPLOAD_TTL,
  });

  const unavailable = (): Refusal =>
    davError(503, 'ServiceUnavailable', `${options.service.name} cannot check your storage usage right now; try again in a moment.`, { 'retry-after': '30' });

  function overQuota(holder: StorageHolder, check: QuotaCheck, needed: number): Refusal {
    return insufficientStorage({
      plan: holder.plan,
      limit: holder.limit,
      used: check.used,
      inFlight: Math.max(0, check.inFlight),
      needed,
      service: options.service.name,
      moreSpace: options.moreSpaceUrl,
    });
  }

  /** Runs a settle step after the exchange, never throwing into the proxy. */
  const later = (what: string, work: () => Promise<void>) => {
    work().catch((err: unknown) => logger.warn({ err, service: options.service.id }, `storage quota: ${what} failed`));
  };

  async function admit(request: EnforcedRequest): Promise<Outcome> {
    const shape = classify(request.method, request.path, request.req.headers);
    if (shape.kind === 'none') return PASS;
    if (shape.kind === 'legacy-chunked') {
      return { refuse: davError(400, 'BadRequest', 'This client uses the old chunked upload protocol (OC-Chunked), which is no longer supported. Update your sync client.') };
    }
    const holder = holderOf(request);
    if (!holder) return PASS;
    try {
      return await admitShape(shape, holder, request);
    } catch (err) {
      logger.warn({ err, service: options.service.id }, 'storage quota: usage or store unavailable, refusing the write');
      return { refuse: unavailable() };
    }
  }

  async function admitShape(shape: Exclude<Shape, { kind: 'none' | 'legacy-chunked' }>, holder: StorageHolder, request: EnforcedRequest): Promise<Outcome> {
    const headers = request.upstreamHeaders;
    const prefix = 'prefix' in shape ? shape.prefix : '';
    const readUsed = () => usage.usedBytes(holder.uid, prefix, headers);
    /** Bytes of a replaced file credited by the last `reserve` (its growth is what lands). */
    let credited = 0;
    const reserve = async (amount: number, replaces?: { user?: string; path: string }, fresh = false): Promise<QuotaCheck> => {
      const first = await quota.reserve(holder, amount, readUsed, 0, fresh);
      if (first.granted || !replaces) return first;
      const old = await usage.sizeOf(replaces.user, prefix, replaces.path, headers);
      if (!old) return first;
      const second = await quota.reserve(holder, amount, readUsed, old);
      if (second.granted) credited = old;
      return second;
    };
    /** After the exchange: a successful write's bytes count as landed, then the reservation is given back. */
    const finish = (held: () => number, written: () => number = held) => (status: number | undefined) =>
      later('release', async () => {
        if (ok(status)) await quota.landed(holder, written());
        await quota.release(holder, held());
      });

    switch (shape.kind) {
      case 'shrink':
        return { admit: { settle: (status) => ok(status) && later('refresh', () => quota.changed(holder)) } };

      case 'put':
      case 'bulk': {
        const declared = shape.kind === 'put' ? shape.declared : shape.length;
        const streamed = shape.kind === 'put' ? shape.streamed : shape.length === undefined;
        const replaces = shape.kind === 'put' ? { user: shape.user, path: shape.path } : undefined;
        const upFront = declared ?? 0;
        const check = await reserve(upFront, replaces);
        if (!check.granted) return { refuse: overQuota(holder, check, upFront) };
        if (!streamed) return { admit: { settle: finish(() => upFront, () => upFront - credited) } };
        const body = meteredBody(request, holder, upFront);
        return { admit: { body, settle: finish(() => body.reserved, () => body.forwarded) } };
      }

      case 'copy': {
        const size = await usage.sizeOf(shape.user, prefix, shape.path, headers);
        if (size === undefined) return PASS; // the upstream answers 404
        const check = await reserve(size, shape.destination === undefined ? undefined : { user: shape.user, path: shape.destination });
        if (!check.granted) return { refuse: overQuota(holder, check, size) };
        return { admit: { settle: finish(() => size, () => size - credited) } };
      }

      case 'upload-start': {
        const declared = shape.declared ?? 0;
        const keys = uploadKeys(holder, shape.user, shape.upload);
        if (declared > 0) {
          const check = await reserve(declared);
          if (!check.granted) return { refuse: overQuota(holder, check, declared) };
        }
        await counters.increment(keys.held, declared, UPLOAD_TTL);
        return {
          admit: {
            settle: (status) => {
              if (ok(status)) return;
              later('release', async () => {
                await quota.release(holder, declared);
                await Promise.all([counters.reset(keys.held), counters.reset(keys.received)]);
              });
            },
          },
        };
      }

      case 'upload-chunk': {
        if (shape.length === undefined) return { refuse: davError(411, 'LengthRequired', 'A chunk of a chunked upload needs a Content-Length header.') };
        const n = shape.length;
        const keys = uploadKeys(holder, shape.user, shape.upload);
        const received = await counters.increment(keys.received, n, UPLOAD_TTL);
        const held = await counters.get(keys.held);
        const extra = Math.max(0, received - held);
        if (extra > 0) {
          const check = await reserve(extra);
          if (!check.granted) {
            await counters.increment(keys.received, -n, UPLOAD_TTL);
            return { refuse: overQuota(holder, check, received) };
          }
          await counters.increment(keys.held, extra, UPLOAD_TTL);
        }
        return { admit: { settle: (status) => !ok(status) && later('chunk rollback', async () => void (await counters.increment(keys.received, -n, UPLOAD_TTL))) } };
      }

      case 'upload-assemble': {
        const keys = uploadKeys(holder, shape.user, shape.upload);
        const [received, held] = await Promise.all([counters.get(keys.received), counters.get(keys.held)]);
        // Only what was actually sent counts; a larger declaration is given back first.
        if (held > received) {
          await quota.release(holder, held - received);
          await counters.increment(keys.held, received - held, UPLOAD_TTL);
        } else if (received > held) {
          // Chunks that did not pass through this gateway (keys expired): reserve them now.
          const check = await reserve(received - held);
          if (!check.granted) return { refuse: overQuota(holder, check, received) };
          await counters.increment(keys.held, received - held, UPLOAD_TTL);
        }
        // Assembly is where Nextcloud writes the file: check against a fresh usage, not the cache.
        const check = await reserve(0, shape.destination === undefined ? undefined : { user: shape.user, path: shape.destination }, true);
        if (!check.granted) return { refuse: overQuota(holder, check, received) };
        return {
          admit: {
            settle: (status) => {
              if (!ok(status)) return;
              later('release', async () => {
                await quota.landed(holder, received - credited);
                await quota.release(holder, received);
                await Promise.all([counters.reset(keys.held), counters.reset(keys.received)]);
              });
            },
          },
        };
      }

      case 'upload-abort': {
        const keys = uploadKeys(holder, shape.user, shape.upload);
        return {
          admit: {
            settle: (status) => {
              if (!ok(status) && status !== 404) return;
              later('release', async () => {
                const held = await counters.get(keys.held);
                await quota.release(holder, held);
                await Promise.all([counters.reset(keys.held), counters.reset(keys.received)]);
              });
            },
          },
        };
      }
    }
  }

  function uploadKeys(holder: StorageHolder, user: string, upload: string) {
    const base = `quota:upload:${holder.key}:${user}:${upload}`;
    return { held: `${base}:held`, received: `${base}:received` };
  }

  function meteredBody(request: EnforcedRequest, holder: StorageHolder, reserved: number): MeteredBody {
    const headers = request.upstreamHeaders;
    const prefix = classifyPrefix(request.req);
    const readUsed = () => usage.usedBytes(holder.uid, prefix, headers);
    let last: QuotaCheck = { granted: true, used: 0, inFlight: 0 };
    const body = new MeteredBody(request.req, {
      reserved,
      blockBytes,
      reserveMore: async (bytes) => {
        last = await quota.reserve(holder, bytes, readUsed);
        return last.granted;
      },
      onOverflow: (counted) => {
        const res = request.res;
        if (res.headersSent) return;
        const refusal = overQuota(holder, { ...last, inFlight: last.inFlight - body.reserved }, counted);
        res.writeHead(refusal.status, { ...refusal.headers, connection: 'close', 'content-length': Buffer.byteLength(refusal.body) });
        res.end(refusal.body);
      },
    });
    return body;
  }

  function classifyPrefix(req: IncomingMessage): string {
    const path = (req.url ?? '').split('?')[0];
    const at = path.indexOf('/remote.php/');
    return at < 0 ? '' : path.slice(0, at);
  }

  return { admit, quota };
}

