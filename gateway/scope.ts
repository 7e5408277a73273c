/**
 * Per-request state, written and read by the pipeline steps (oauth2-proxy's `scope`). Nothing is
 * passed between steps through ad-hoc headers or globals.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ServiceConfig, Claims, GatewayDecision, RateLimit } from './types.ts';
import type { Deadline } from './deadlines.ts';

/** Who is asking, once authenticated. */
export interface Principal<Identity = unknown> {
  subject: string;
  claims: Claims;
  identity: Identity;
  /** `device`: a device password of a sync client (webdav services). */
  via: 'session' | 'bearer' | 'device';
  /** Access token to pass upstream when the service asks for it. */
  accessToken?: string;
}

export interface RequestScope<Identity = unknown> {
  req: IncomingMessage;
  /** Undefined for a websocket upgrade. */
  res?: ServerResponse;
  socket?: Socket;
  head?: Buffer;
  /** `proxy`: a request to a service; `forward-auth`: a question from nginx/Caddy/Traefik about one. */
  mode: 'proxy' | 'forward-auth' | 'websocket';
  startedAt: number;
  method: string;
  /** Host without port, lower case. */
  host: string;
  /** The path as the client sent it (without query). */
  rawPath: string;
  /** The normalised path: decided on and sent upstream. */
  path: string;
  /** `?…` or empty. */
  query: string;
  /** The address of the client (X-Forwarded-For believed only from trusted proxies). */
  clientIp: string;
  /** The address of the connection's other end, and whether it is one of `server.trustedProxies`. */
  peerIp: string;
  fromTrustedProxy: boolean;
  service?: ServiceConfig;
  principal?: Principal<Identity>;
  identity?: Identity;
  /** A session cookie was sent but named no live session: clear it. */
  staleSessionCookie: boolean;
  /** A bearer token was sent (so the caller is an API client). */
  bearerAttempt: boolean;
  decision?: GatewayDecision;
  rateLimit?: RateLimit;
  /** Headers to add upstream (or, in forward-auth, to answer with). */
  identityHeaders: Readonly<Record<string, string>>;
  bytesIn: number;
  bytesOut: number;
  status: number;
  /** Sent upstream instead of the request body (an enforcer's metered body that stops at a quota). */
  upstreamBody?: Readable;
  /** upstreams.ts: the request to the upstream, and its deadline for a first byte. */
  upstreamRequest?: ClientRequest;
  firstByte?: Deadline<RequestScope>;
}

/**
 * Every field is present from the start, the optional ones `undefined`: a scope then keeps one
 * shape (V8 hidden class) through the steps, so their reads of it stay monomorphic. With fields
 * added step by step, scopes took different chains of shapes and the reads became megamorphic
 * lookups: under `perf` at 1000 req/s those were ~1 % more of the gateway's CPU than of the bare
 * proxy's, and at the bare proxy's share once the shape was fixed.
 */
/** No identity headers (anonymous, or a service with `identityHeaders: none`): one frozen object shared by every request. */
export const NO_IDENTITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export function newScope<Identity>(req: IncomingMessage, mode: RequestScope['mode'], startedAt: number): RequestScope<Identity> {
  return {
    req,
    res: undefined,
    socket: undefined,
    head: undefined,
    mode,
    startedAt,
    method: (req.method ?? 'GET').toUpperCase(),
    host: '',
    rawPath: '/',
    path: '/',
    query: '',
    clientIp: '',
    peerIp: '',
    fromTrustedProxy: false,
    service: undefined,
    principal: undefined,
    identity: undefined,
    staleSessionCookie: false,
    bearerAttempt: false,
    decision: undefined,
    rateLimit: undefined,
    identityHeaders: NO_IDENTITY_HEADERS,
    bytesIn: 0,
    bytesOut: 0,
    status: 0,
    upstreamBody: undefined,
    upstreamRequest: undefined,
    firstByte: undefined,
  };
}
