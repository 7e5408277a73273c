/**
 * The admin REST API v1, mounted at `/api/v1` on the IdP's listener:
 *
 *   app.use('/api/v1', createAdminApi({ ... }))
 *
 * Everything except `GET /openapi.json` needs a Bearer access token. Other modules add their routers
 * through `extraRouters`; they run after `authenticate`, so `res.locals.caller` (kernel/caller.ts) is
 * set, and their errors get the same error shape.
 */
import express, { Router } from 'express';
import type { OpenApiFragment } from '../../kernel/caller.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { authenticate, type VerifyAccessToken } from './authenticate.ts';
import { apiErrorHandler, notFoundRoute } from './errors.ts';
import { buildOpenApi } from './openapi.ts';
import { directoryRoutes, type DirectoryRoutesDeps } from './directory-routes.ts';
import { directoryOpenApi } from './directory-openapi.ts';

export { DIRECTORY_CHANGES } from './directory-routes.ts';
export type { VerifyAccessToken } from './authenticate.ts';

export interface ExtraRouter {
  /** Mount path inside the API, e.g. `/policies`. */
  path: string;
  router: Router;
  openapi: OpenApiFragment;
}

export interface AdminApiDeps extends DirectoryRoutesDeps {
  verifyAccessToken: VerifyAccessToken;
  extraRouters?: ExtraRouter[];
  logger?: Logger;
  /** Where the router is mounted, for the OpenAPI `servers` entry. Default `/api/v1`. */
  basePath?: string;
}

export function createAdminApi(deps: AdminApiDeps): Router {
  const logger = deps.logger ?? silentLogger;
  const api = Router();
  const openapi = buildOpenApi([directoryOpenApi, ...(deps.extraRouters ?? []).map((r) => r.openapi)], { basePath: deps.basePath });

  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  api.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  // Authenticate before reading any body: an anonymous caller learns nothing but 401.
  api.use(authenticate({ verifyAccessToken: deps.verifyAccessToken, directory: deps.directory, logger }));
  api.use(express.json({ limit: '100kb', strict: true }));
  api.use(directoryRoutes(deps));
  for (const extra of deps.extraRouters ?? []) api.use(extra.path, extra.router);
  api.use(notFoundRoute);
  api.use(apiErrorHandler(logger));
  return api;
}
