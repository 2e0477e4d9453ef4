/** The server serves the built console at /console: compressed, cached, with the SPA fallback. */
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from '../../src/app/console.js';
import { useTestApp } from '../helpers/app.js';
import { ensureConsoleBuilt } from '../helpers/console.js';

describe('console files', () => {
  beforeAll(ensureConsoleBuilt);
  const t = useTestApp('pglite');

  it('serves index.html at /console/, revalidated on every load', async () => {
    const response = await t.app.inject({ url: '/console/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.body).toContain('<div id="root">');
  });

  it('answers any console path with index.html so the console routes it', async () => {
    const response = await t.app.inject({ url: '/console/campaigns/0190f0e2-0000-7000-8000-000000000000' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<div id="root">');
  });

  it('answers a missing asset with a 404 problem rather than the page', async () => {
    const response = await t.app.inject({ url: '/console/assets/index-gone.js' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/problem\+json/);
  });

  it('serves hashed assets precompressed and cached for a year', async () => {
    const script = readdirSync(`${CONSOLE_DIST}assets`).find((name) => name.endsWith('.js'));
    const response = await t.app.inject({
      url: `/console/assets/${script}`,
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe('br');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('keeps the first load at most 300 KB of gzipped JavaScript', () => {
    // What index.html loads: the entry script and the chunks it preloads (lazy screens excluded).
    const html = readFileSync(`${CONSOLE_DIST}index.html`, 'utf8');
    const scripts = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const gzipped = scripts.reduce(
      (sum, path) => sum + gzipSync(readFileSync(`${CONSOLE_DIST}${path}`), { level: 9 }).length,
      0,
    );
    expect(gzipped).toBeLessThanOrEqual(300 * 1024);
  });

  it('keeps API 404s as problems outside /console', async () => {
    const response = await t.app.inject({ url: '/nowhere' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/problem\+json/);
  });
});
