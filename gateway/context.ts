/** The parts every step shares, built once by `createGateway`. */
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import type { PortaConfig } from '../config/schema/index.ts';
import type { GatewayDeps } from './types.ts';
import type { RouteTable } from './steps/match-route.ts';
import type { ClientAddressResolver } from './client-address.ts';
import type { BearerVerifier } from './auth/bearer.ts';
import type { IdentityCache } from './auth/identity-cache.ts';
import type { SessionStore } from './session/session-store.ts';
import type { LoginFlow } from './session/login.ts';
import type { CookiePolicy } from './session/cookie.ts';
import type { SharedRateLimiter } from './rate-limiter.ts';

export interface GatewayContext<Identity = unknown> {
  config: PortaConfig;
  deps: GatewayDeps<Identity>;
  clock: Clock;
  logger: Logger;
  routes: RouteTable;
  clientAddress: ClientAddressResolver;
  bearer: BearerVerifier;
  identities: IdentityCache<Identity>;
  sessions: SessionStore;
  login: LoginFlow;
  cookies: CookiePolicy;
  limiter: SharedRateLimiter;
}
