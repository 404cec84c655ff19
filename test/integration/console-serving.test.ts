import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../utils/harness.js';

/**
 * The gateway serves the built operator console under /console/ with a policy that allows
 * no inline script or style and no other origin, and serves nothing else from there.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
let t: TestApp;

beforeAll(async () => {
  // A fresh clone has no build yet: `npm start` builds it the same way on its first run.
  if (!existsSync(path.join(ROOT, 'dist/console/index.html'))) {
    execFileSync('node', ['scripts/ensure-console.mjs'], { cwd: ROOT, stdio: 'ignore' });
  }
  t = await startTestApp();
});

afterAll(async () => {
  await t?.stop();
});

const get = (p: string) => fetch(`${t.gatewayUrl}${p}`, { redirect: 'manual' });

describe('the operator console', () => {
  it('redirects /console to /console/ and serves the page with a strict Content-Security-Policy', async () => {
    const bare = await get('/console');
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/console/');

    const page = await get('/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    // Every script is a file of this origin; none is inline.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(body.trim()).toBe('');
      expect(attrs).toMatch(/src="\/console\/assets\/[^"]+\.js"/);
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('serves every asset the page names, immutable, and nothing outside its assets', async () => {
    const html = await (await get('/console/')).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const r = await get(asset);
      expect(r.status, asset).toBe(200);
      expect(r.headers.get('cache-control')).toContain('immutable');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    for (const p of [
      '/console/assets/..%2F..%2Fpackage.json',
      '/console/assets/%2e%2e%2findex.html',
      '/console/assets/missing.js',
      '/console/assets/secret.env',
      '/console/../package.json',
    ]) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(await r.text()).not.toContain('"dependencies"');
    }
  });
});
