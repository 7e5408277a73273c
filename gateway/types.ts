/**
 * What the gateway needs from the rest of Porta, as narrow types. The lead wires the real
 * implementations (policies/decide, the directory behind `identityOf`, metering's recorder).
 */
import type { Logger } from '../kernel/logger.ts';
import type { Clock } from '../kernel/clock.ts';
import type { PortaConfig, ServiceConfig } from '../config/schema/index.ts';
import type { Stores } from '../store/types.ts';
import type { DeviceLogin } from './enforcers/webdav/device-login.ts';

/** Claims the gateway knows about a signed-in person (from the ID token or the access token). */
export interface Claims {
  sub: string;
  sid?: string;
  email?: string;
  name?: string;
  preferred_username?: string;
  groups?: string[];
  [claim: string]: unknown;
}

/** The request as the policies see it: the normalised path, the same one the upstream receives. */
export interface RequestFacts {
  method: string;
  path: string;
  host: string;
}

export interface RateLimit {
  points: number;
  /** Seconds. */
  duration: number;
}

/** The part of `policies/decide`'s answer the gateway reads. */
export interface GatewayDecision {
  effect: 'allow' | 'deny';
  rule?: unknown;
  /** A sentence a person understands. */
  reason: string;
  /** What would give access (shown on the 403 page). */
  wouldAllow?: string;
  limits?: { rateLimit?: RateLimit | null };
}

/** One proxied request, as metering wants it (no IP, no content). Metering gives the ledger record its id. */
export interface GatewayUsageRecord {
  time: number;
  subject: string;
  collective?: string;
  service: string;
  kind: 'request';
  units: { requests: number; bytesIn: number; bytesOut: number };
  /** The route matched (the service's path prefix), never the raw path. */
  routeClass: string;
  method: string;
  status: number;
  durationMs: number;
}

export interface GatewayDeps<Identity = unknown> {
  config: PortaConfig;
  stores: Stores;
  /** Pure policy decision. */
  decide: (identity: Identity, service: ServiceConfig, request: RequestFacts) => GatewayDecision;
  /** Identity of a signed-in person (plans, collectives, grants), or of an anonymous caller for `undefined`. */
  identityOf: (claims: Claims | undefined) => Promise<Identity>;
  /** The collective a use of `service` is billed to, if any. */
  collectiveOf?: (identity: Identity, service: ServiceConfig) => string | undefined;
  /** Hands a usage record to metering (`recorder.tally`: equal requests may be counted as one record); false when it could be neither buffered nor journaled. */
  recordUsage?: (record: GatewayUsageRecord) => boolean;
  /** The gateway's OIDC client secret when `config.gateway.clientSecret` is not set (the IdP generates and stores one). */
  clientSecret?: string | (() => Promise<string>);
  /** Device passwords of sync clients on `webdav` services (Basic credentials); without it Basic passes through untouched. */
  deviceLogin?: DeviceLogin;
  logger: Logger;
  clock?: Clock;
}

export type { ServiceConfig };
