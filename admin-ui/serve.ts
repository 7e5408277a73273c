/**
 * Serves the admin single-page app at `/admin`. No build step: the files in `web/` are plain browser
 * ES modules. Assets live under `/admin/assets/<version>/…`, where the version is a hash of the whole
 * folder taken at start-up, so they can be cached forever (`immutable`) and a new release is fetched
 * fresh; `index.html` itself is never cached. Every answer carries a strict Content-Security-Policy:
 * no inline script or style, and connections only to this origin (the IdP and the admin API).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type NextFunction, type Router } from 'express';

export const ADMIN_UI_PATH = '/admin';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), 'web');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** Reads every file of the app once; the app is small (tens of kilobytes). */
function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const type = TYPES[extname(name)];
        if (type) assets.set(relative(root, path).split(sep).join('/'), { body: readFileSync(path), type });
      }
    }
  };
  walk(root);
  return assets;
}

function versionOf(assets: Map<string, Asset>): string {
  const hash = createHash('sha256');
  for (const [path, asset] of assets) hash.update(path).update('\0').update(asset.body).update('\0');
  return hash.digest('hex').slice(0, 12);
}

function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    // The callback URL carries the authorization code: never send it on as a Referer.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

export interface AdminUiOptions {
  /** Folder of the app; default `admin-ui/web` beside this file. */
  root?: string;
}

export function adminUiRouter(options: AdminUiOptions = {}): Router {
  const assets = loadAssets(options.root ?? WEB_ROOT);
  const version = versionOf(assets);
  const template = assets.get('index.html');
  if (!template) throw new Error('admin-ui/web/index.html is missing');
  const index = Buffer.from(template.body.toString('utf8').replaceAll('__ASSETS__', `${ADMIN_UI_PATH}/assets/${version}`));

  const router = express.Router();
  const assetPrefix = `${ADMIN_UI_PATH}/assets/`;

  router.use(ADMIN_UI_PATH, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    securityHeaders(res);
    const path = req.originalUrl.split('?')[0] ?? '';

    if (path.startsWith(assetPrefix)) {
      const rest = path.slice(assetPrefix.length);
      const slash = rest.indexOf('/');
      const asked = slash > 0 ? rest.slice(0, slash) : '';
      const asset = slash > 0 && rest.slice(slash + 1) !== 'index.html' ? assets.get(rest.slice(slash + 1)) : undefined;
      if (!asset || asked !== version) {
        // An asset of another release (or none): never cache the miss.
        res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('Not found.\n');
        return;
      }
      res.status(200).set({ 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=31536000, immutable', ETag: `"${version}"` }).send(asset.body);
      return;
    }

    // `/admin`, `/admin/callback` and every client-side route get the app.
    res.status(200).set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }).send(index);
  });
  return router;
}
