import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../src/dashboard/dashboard-plugin.js';

describe('dashboard site plugin', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lz-dashboard-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>',
    );
    writeFileSync(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
    app = Fastify({ logger: false });
    await app.register(dashboardPlugin, { dir });
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('GET /', () => {
    it('when fetched, then index.html is sent as HTML with no-cache and an ETag', async () => {
      const res = await app.inject({ url: '/' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers.etag).toMatch(/^"[\w-]+"$/);
      expect(res.body).toContain('/assets/index-AbC123.js');
    });

    it('when fetched again with If-None-Match, then 304 without a body', async () => {
      const first = await app.inject({ url: '/' });
      const again = await app.inject({ url: '/', headers: { 'if-none-match': String(first.headers.etag) } });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
    });
  });

  describe('GET /assets/*', () => {
    it('when a built asset is fetched, then it is immutable for a year with its content type', async () => {
      const res = await app.inject({ url: '/assets/index-AbC123.js' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    });

    it('when an asset does not exist, then 404 JSON', async () => {
      const res = await app.inject({ url: '/assets/nope.js' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'Not Found' });
    });
  });

  it('when another top-level file of the build is fetched, then it is served with no-cache', async () => {
    const res = await app.inject({ url: '/robots.txt' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('when the dashboard was never built, then / answers 503 saying so', async () => {
    const bare = Fastify({ logger: false });
    await bare.register(dashboardPlugin, { dir: join(dir, 'missing') });
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toContain('pnpm build');
    await bare.close();
  });
});
