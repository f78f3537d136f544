import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { buildRouteTable, defaultRouteTable, routeCovers } from '../src/routes/route-table.js';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

describe('route table', () => {
  const defaults = defaultRouteTable(10_000);

  it('when nothing is configured, then the public routes go to provider and ingestion', () => {
    const byPath = Object.fromEntries(defaults.map((r) => [r.path, r]));
    expect(byPath['/session']).toMatchObject({ service: 'provider', methods: ['POST'], cacheable: false });
    expect(byPath['/prices/*']).toMatchObject({ service: 'provider', cacheable: true });
    expect(byPath['/symbols']).toMatchObject({ service: 'provider' });
    expect(byPath['/ws']).toMatchObject({ service: 'provider', websocket: true });
    expect(byPath['/sources']).toMatchObject({ service: 'ingestion' });
    expect(byPath['/sources/status']).toMatchObject({ service: 'ingestion' });
  });

  it('when GATEWAY_ROUTES is given, then entries are merged by path, added, or removed', () => {
    const table = buildRouteTable(
      defaults,
      JSON.stringify([
        { path: '/prices/*', timeoutMs: 500, cacheTtlMs: 0 },
        { path: '/extra/*', methods: ['GET'], service: 'extra' },
        { path: '/symbols', disabled: true },
      ]),
    );
    expect(table.find((r) => r.path === '/prices/*')).toMatchObject({
      service: 'provider',
      timeoutMs: 500,
      cacheTtlMs: 0,
    });
    expect(table.find((r) => r.path === '/extra/*')).toMatchObject({
      service: 'extra',
      timeoutMs: 10_000,
      rateLimitGroup: 'default',
    });
    expect(table.find((r) => r.path === '/symbols')).toBeUndefined();
  });

  it.each([
    ['not json', 'nope'],
    ['unknown field', JSON.stringify([{ path: '/prices/*', colour: 'red' }])],
    ['incomplete new route', JSON.stringify([{ path: '/new' }])],
    ['bad path', JSON.stringify([{ path: '/a/../b', methods: ['GET'], service: 'x' }])],
    ['websocket POST', JSON.stringify([{ path: '/ws', methods: ['POST'] }])],
  ])('when GATEWAY_ROUTES has a %s, then it is refused at start', (_what, json) => {
    expect(() => buildRouteTable(defaults, json)).toThrow(
      expect.objectContaining({ code: 'LZ_ERR_GATEWAY_ROUTE_TABLE' }),
    );
  });

  it('when a path is checked against a route, then exact routes match exactly and prefixes their subtree', () => {
    const prices = defaults.find((r) => r.path === '/prices/*')!;
    const symbols = defaults.find((r) => r.path === '/symbols')!;
    expect(routeCovers(prices, '/prices/AAPL/history')).toBe(true);
    expect(routeCovers(prices, '/pricesX')).toBe(false);
    expect(routeCovers(symbols, '/symbols')).toBe(true);
    expect(routeCovers(symbols, '/symbols/x')).toBe(false);
  });
});

describe('the gateway own endpoints and routing answers', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
    gateway = await startGateway({ REGISTRY_URL: registry.url });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.stop();
    await registry?.close();
  });

  it('when a path has no route, then 404 JSON', async () => {
    const res = await request(`${gateway.url}/nothing/here`);
    expect(res.statusCode).toBe(404);
    expect(await res.body.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'LZ_ERR_GATEWAY_NO_ROUTE',
      message: 'No route GET /nothing/here',
    });
  });

  it('when the service of a route has no live instance, then 503 JSON with Retry-After', async () => {
    const res = await request(`${gateway.url}/sources`);
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(await res.body.json()).toMatchObject({
      error: 'Service Unavailable',
      message: 'No live instance of service ingestion',
      code: 'LZ_ERR_GATEWAY_NO_INSTANCE',
    });
  });

  it('when HEAD is sent to a GET route, then it is proxied as HEAD: headers, no body', async () => {
    const before = upstream.hits.get('/prices/HEADED') ?? 0;
    const res = await request(`${gateway.url}/prices/HEADED`, { method: 'HEAD' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(await res.body.text()).toBe('');
    expect(upstream.hits.get('/prices/HEADED')).toBe(before + 1);
  });

  it(
    'when /health and /ready are asked, then the gateway ' + 'is healthy and ready with the registry reachable',
    async () => {
      expect((await request(`${gateway.url}/health`)).statusCode).toBe(200);
      const ready = await request(`${gateway.adminUrl}/ready`);
      expect(ready.statusCode).toBe(200);
      expect(await ready.body.json()).toEqual({ status: 'ready', checks: { registry: 'ok' } });
    },
  );

  it(
    'when traffic has passed, then /metrics has requests by route/status/upstream, latency, cache, breaker and ' +
      'WS series',
    async () => {
      await (await request(`${gateway.url}/prices/AAPL`)).body.dump();
      await (await request(`${gateway.url}/prices/AAPL`)).body.dump();
      const text = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
      expect(text).toContain(
        'gateway_requests_total{route="/prices/*",method="GET",status="200",' +
          `upstream="${upstream.address}",service="gateway"} 1`,
      );
      expect(text).toContain(
        'gateway_requests_total{route="/prices/*",method="GET",status="200",upstream="cache",service="gateway"} 1',
      );
      expect(text).toMatch(
        /gateway_upstream_duration_seconds_count\{[^}]*upstream_service="provider"[^}]*outcome="ok"[^}]*\} \d+/,
      );
      expect(text).toMatch(/gateway_cache_lookups_total\{result="hit",service="gateway"\} 1/);
      expect(text).toMatch(/gateway_cache_lookups_total\{result="miss",service="gateway"\} \d+/);
      expect(text).toContain(
        `gateway_breaker_state{upstream_service="provider",upstream="${upstream.address}",service="gateway"} 0`,
      );
      expect(text).toContain('gateway_upstream_instances{upstream_service="provider",service="gateway"} 1');
      expect(text).toContain('gateway_ws_connections{service="gateway"} 0');
      expect(text).toContain('gateway_rate_limited_total');
    },
  );

  it('when the OpenAPI document is fetched, then it describes every public route', async () => {
    const res = await request(`${gateway.url}/docs/json`);
    expect(res.statusCode).toBe(200);
    const doc = (await res.body.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const p of ['/session', '/symbols', '/ws', '/sources', '/sources/status']) expect(paths).toContain(p);
    expect(paths).toEqual(
      expect.arrayContaining(['/prices/{symbol}', '/prices/{symbol}/history', '/prices/{symbol}/candles']),
    );
    expect(doc.paths['/session']!.post!.summary).toContain('websocket_url');
    expect(paths.filter((p) => p.startsWith('/docs'))).toEqual([]);
  });
});

describe('a site served at / by the gateway itself', () => {
  it('when a site plugin is given, then / is served by it and the proxied routes are unchanged', async () => {
    const { buildGatewayApp } = await import('../src/app.js');
    const { GatewayConfig } = await import('../src/config.js');
    const { loadConfig } = await import('@lizards/lib');
    const app = buildGatewayApp({
      config: loadConfig(GatewayConfig, { LOG_LEVEL: 'silent' }),
      registry: { watch: async () => ({ index: 1, instances: [] }) },
      logger: false,
      site: async (site) => {
        site.get('/', async (_request, reply) => reply.type('text/html').send('<h1>Lizards</h1>'));
      },
    });
    try {
      const home = await app.inject({ url: '/' });
      expect(home.statusCode).toBe(200);
      expect(home.body).toBe('<h1>Lizards</h1>');
      expect((await app.inject({ url: '/symbols' })).statusCode).toBe(503);
    } finally {
      await app.close();
    }
  });
});
