import { describe, it, expect } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { adminUiRouter, CONTENT_SECURITY_POLICY } from '../../admin-ui/serve.ts';

function app() {
  const a = express();
  a.use(adminUiRouter());
  a.use((_req, res) => res.status(404).send('not mine'));
  return a;
}

describe('adminUiRouter', () => {
  it('serves the app for /admin, the callback and client-side routes, never cached, with a strict CSP', async () => {
    const a = app();
    for (const path of ['/admin', '/admin/', '/admin/callback?code=x&state=y', '/admin/collectives/femprocomuns', '/admin/policy/history']) {
      const res = await request(a).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.text).toContain('<main id="main"');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
  });

  it('has no inline script or style in its page (the CSP would block them)', async () => {
    const res = await request(app()).get('/admin/');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/<style/);
    expect(res.text).not.toMatch(/\sstyle=/);
    expect(res.text).not.toMatch(/\son[a-z]+=/);
  });

  it('serves the versioned assets with immutable caching and refuses other versions', async () => {
    const a = app();
    const index = (await request(a).get('/admin/')).text;
    const src = /src="(\/admin\/assets\/[0-9a-f]{12})\/app\.js"/.exec(index);
    expect(src).not.toBeNull();
    const base = src![1];
    const js = await request(a).get(`${base}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.text).toBe(readFileSync(new URL('../../admin-ui/web/app.js', import.meta.url), 'utf8'));
    const nested = await request(a).get(`${base}/i18n/ca.js`);
    expect(nested.status).toBe(200);
    expect(nested.text).toContain('Col·lectius');
    const css = await request(a).get(`${base}/styles.css`);
    expect(css.headers['content-type']).toMatch(/^text\/css/);

    const stale = await request(a).get('/admin/assets/000000000000/app.js');
    expect(stale.status).toBe(404);
    expect(stale.headers['cache-control']).toBe('no-store');
    expect((await request(a).get(`${base}/nope.js`)).status).toBe(404);
    expect((await request(a).get(`${base}/../serve.ts`)).status).toBe(404);
  });

  it('leaves other paths and other methods to the rest of the app', async () => {
    const a = app();
    expect((await request(a).get('/administrator')).text).toBe('not mine');
    expect((await request(a).get('/api/v1/me')).text).toBe('not mine');
    expect((await request(a).post('/admin/')).text).toBe('not mine');
  });
});
