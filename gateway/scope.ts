/**
 * Per-request state, written and read by the pipeline steps (oauth2-proxy's `scope`). Nothing is
 * passed between steps through ad-hoc headers or globals.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ServiceConfig, Claims, GatewayDecision, RateLimit } from './types.ts';

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
}

export function newScope<Identity>(req: IncomingMessage, mode: RequestScope['mode'], startedAt: number): RequestScope<Identity> {
  return {
    req,
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
    staleSessionCookie: false,
    bearerAttempt: false,
    identityHeaders: {},
    bytesIn: 0,
    bytesOut: 0,
    status: 0,
  };
}
