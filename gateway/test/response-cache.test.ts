import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { MemoryResponseCache } from '../src/cache/memory-response-cache.js';
import { RedisResponseCache } from '../src/cache/redis-response-cache.js';
import type { ResponseCache } from '../src/cache/response-cache.js';
import { cacheKey, cacheTtlMs } from '../src/cache/cache-policy.js';
import { REDIS_URL, deleteKeys, startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { TcpProxy, freePort, waitFor } from '@lizards/testkit';

const run = randomUUID().slice(0, 8);
const prefix = `lz:${run}:`;
const cachePrefix = `${prefix}cache:`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.each([
  ['memory', () => new MemoryResponseCache(1 << 20)],
  ['redis', () => new RedisResponseCache(redis, `${prefix}contract:`)],
] as [string, () => ResponseCache][])('ResponseCache (%s adapter)', (_name, make) => {
  const entry = {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-multi': ['a', 'b'] },
    body: Buffer.from([0, 1, 2, 255]),
    storedAt: 1234,
  };

  it('when an entry is stored, then it is read back identical (binary body included)', async () => {
    const cache = make();
    await cache.set('k1', entry, 10_000);
    expect(await cache.get('k1')).toEqual(entry);
    expect(await cache.get('k-unknown')).toBeUndefined();
  });

  it('when its TTL has passed, then the entry is gone', async () => {
    const cache = make();
    await cache.set('k2', entry, 50);
    await waitFor(async () => (await cache.get('k2')) === undefined, 3000, 'expiry');
  });
});

describe('the embedded cache bound (CACHE_MAX_BYTES)', () => {
  const MiB = 1 << 20;
  const response = (bytes: number) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.alloc(bytes, 7),
    storedAt: 0,
  });

  it(
    'when responses totalling more than the budget are stored, then it holds at most the budget, the least ' +
      'recently used going first',
    async () => {
      const cache = new MemoryResponseCache(4 * MiB);
      for (let i = 0; i < 40; i++) await cache.set(`k${i}`, response(512 * 1024), 60_000);
      let held = 0;
      for (let i = 0; i < 40; i++) held += (await cache.get(`k${i}`))?.body.length ?? 0;
      expect(held).toBeLessThanOrEqual(4 * MiB);
      expect(held).toBeGreaterThanOrEqual(3 * 512 * 1024);
      expect(await cache.get('k0')).toBeUndefined();
      expect(await cache.get('k39')).toBeDefined();
    },
  );

  it('when many small responses are stored, then their count is not what bounds them', async () => {
    const cache = new MemoryResponseCache(4 * MiB);
    for (let i = 0; i < 10_000; i++) await cache.set(`s${i}`, response(16), 60_000);
    expect(await cache.get('s0')).toBeDefined();
  });
});

describe('cache policy', () => {
  it('when Cache-Control allows sharing, then s-maxage wins over max-age, which wins over the route default', () => {
    expect(cacheTtlMs(200, { 'cache-control': 'max-age=5, s-maxage=9' }, 1000)).toBe(9000);
    expect(cacheTtlMs(200, { 'cache-control': 'public, max-age=5' }, 1000)).toBe(5000);
    expect(cacheTtlMs(200, {}, 1000)).toBe(1000);
  });

  it('when the response forbids or personalises caching, then the TTL is 0', () => {
    for (const cc of ['no-store', 'private, max-age=60', 'no-cache', 'max-age=0'])
      expect(cacheTtlMs(200, { 'cache-control': cc }, 1000)).toBe(0);
    expect(cacheTtlMs(200, { 'set-cookie': 'a=b' }, 1000)).toBe(0);
    expect(cacheTtlMs(500, {}, 1000)).toBe(0);
  });

  it('when query parameters come in another order, then the key is the same', () => {
    expect(cacheKey('GET', '/prices/AAPL', 'to=2&from=1&a=2&a=1')).toBe(
      cacheKey('GET', '/prices/AAPL', 'a=1&a=2&from=1&to=2'),
    );
    expect(cacheKey('GET', '/prices/AAPL', '')).toBe('GET /prices/AAPL');
  });
});

describe('GET of cacheable routes through the gateway (real Redis)', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateway: RunningGateway;
  const get = async (g: RunningGateway, path: string) => {
    const res = await request(`${g.url}${path}`);
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
    gateway = await startGateway({
      REGISTRY_URL: registry.url,
      REDIS_URL,
      CACHE_PREFIX: cachePrefix,
      RATE_LIMIT_PREFIX: `${prefix}rl:`,
    });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
    await waitFor(() => gateway.redis?.status === 'ready', 10_000, 'redis');
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.stop();
    await registry?.close();
  });

  it(
    'when the same GET comes twice, then MISS then HIT with ' + 'identical status and body, one upstream request',
    async () => {
      const first = await get(gateway, '/symbols?v=1');
      const second = await get(gateway, '/symbols?v=1');
      expect(first.headers['x-cache']).toBe('MISS');
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.status).toBe(first.status);
      expect(second.body).toBe(first.body);
      expect(second.headers['content-type']).toBe(first.headers['content-type']);
      expect(upstream.hits.get('/symbols')).toBe(1);
      expect(await redis.exists(`${cachePrefix}GET /symbols?v=1`)).toBe(1);
    },
  );

  it('when the query differs only in parameter order, then it is the same entry', async () => {
    expect((await get(gateway, '/prices/ORDER?b=2&a=1')).headers['x-cache']).toBe('MISS');
    expect((await get(gateway, '/prices/ORDER?a=1&b=2')).headers['x-cache']).toBe('HIT');
  });

  it('when the upstream sends max-age / s-maxage, then that is the TTL, and the entry expires with it', async () => {
    await get(gateway, '/prices/TTL?cc=max-age%3D1');
    const key = `${cachePrefix}GET /prices/TTL?cc=max-age%3D1`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    expect((await get(gateway, '/prices/TTL?cc=max-age%3D1')).headers['x-cache']).toBe('HIT');
    await waitFor(async () => (await redis.exists(key)) === 0, 5000, 'expiry');
    expect((await get(gateway, '/prices/TTL?cc=max-age%3D1')).headers['x-cache']).toBe('MISS');
    expect(upstream.hits.get('/prices/TTL')).toBe(2);

    await get(gateway, '/prices/SHARED?cc=max-age%3D1%2C%20s-maxage%3D30');
    expect(await redis.pttl(`${cachePrefix}GET /prices/SHARED?cc=max-age%3D1%2C+s-maxage%3D30`)).toBeGreaterThan(1000);

    // No Cache-Control: the route's default (30 s for /symbols).
    await get(gateway, '/symbols?default=1');
    const defaultTtl = await redis.pttl(`${cachePrefix}GET /symbols?default=1`);
    expect(defaultTtl).toBeGreaterThan(1000);
    expect(defaultTtl).toBeLessThanOrEqual(30_000);
  });

  it('when the upstream says no-store or private, then nothing is ever cached', async () => {
    for (const cc of ['no-store', 'private']) {
      const path = `/prices/NOSTORE-${cc}?cc=${cc}`;
      const a = await get(gateway, path);
      const b = await get(gateway, path);
      expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['MISS', 'MISS']);
      expect(upstream.hits.get(`/prices/NOSTORE-${cc}`)).toBe(2);
      expect(await redis.keys(`${cachePrefix}GET /prices/NOSTORE-${cc}*`)).toEqual([]);
    }
  });

  it(
    'when 100 requests miss on one key at once, then the ' + 'upstream sees 1 request and all get the same answer',
    async () => {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => get(gateway, '/prices/CONCURRENT?delayMs=500')),
      );
      expect(upstream.hits.get('/prices/CONCURRENT')).toBe(1);
      expect(new Set(answers.map((a) => a.body)).size).toBe(1);
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(answers.filter((a) => a.headers['x-cache'] === 'MISS')).toHaveLength(1);
    },
  );

  it.each([
    ['Set-Cookie', 'cookie=abc'],
    ['Vary', 'vary=accept-language'],
    ['Cache-Control: private', 'cc=private'],
    ['Cache-Control: no-store', 'cc=no-store'],
  ])(
    'when concurrent misses on one key get a response with %s, then none shares it: each makes its own ' +
      'upstream request',
    async (_what, query) => {
      const path = `/prices/JOIN-${query.replace(/\W/g, '')}`;
      const answers = await Promise.all(Array.from({ length: 10 }, () => get(gateway, `${path}?delayMs=300&${query}`)));
      expect(upstream.hits.get(path)).toBe(10);
      expect(answers.every((a) => a.status === 200 && a.headers['x-cache'] === 'MISS')).toBe(true);
      // Each client got the answer to its own request: the upstream saw that client's request id.
      for (const a of answers)
        expect((JSON.parse(a.body) as { headers: Record<string, string> }).headers['x-request-id']).toBe(
          a.headers['x-request-id'],
        );
    },
  );

  it('when a request carries credentials, then it bypasses the cache', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await request(`${gateway.url}/prices/AUTH`, { headers: { authorization: 'Bearer x' } });
      expect(res.headers['x-cache']).toBeUndefined();
      await res.body.dump();
    }
    expect(upstream.hits.get('/prices/AUTH')).toBe(2);
  });

  it(
    'when Redis is unreachable (nothing listening), then requests ' + 'still succeed, uncached, and /ready says so',
    async () => {
      const port = await freePort(); // nothing listens there
      const offline = await startGateway({
        REGISTRY_URL: registry.url,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        CACHE_PREFIX: cachePrefix,
        RATE_LIMIT_PREFIX: `${prefix}rl2:`,
      });
      try {
        await waitFor(() => offline.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
        const before = upstream.hits.get('/prices/OFFLINE') ?? 0;
        for (let i = 0; i < 3; i++) {
          const res = await get(offline, '/prices/OFFLINE');
          expect(res.status).toBe(200);
          expect(res.headers['x-cache']).toBe('MISS');
        }
        expect(upstream.hits.get('/prices/OFFLINE')! - before).toBe(3);
        const ready = await request(`${offline.adminUrl}/ready`);
        expect(ready.statusCode).toBe(200);
        expect(await ready.body.json()).toMatchObject({
          status: 'degraded',
          checks: { registry: 'ok', redis: expect.stringMatching(/^degraded: .*uncached/) },
        });
      } finally {
        await offline.close();
      }
    },
  );

  it('when the connection to Redis is cut mid-run, then requests still succeed uncached', async () => {
    const proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    const cut = await startGateway({
      REGISTRY_URL: registry.url,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      CACHE_PREFIX: cachePrefix,
      RATE_LIMIT_PREFIX: `${prefix}rl3:`,
    });
    try {
      await waitFor(
        () => cut.app.gateway.directory.instances('provider').length === 1 && cut.redis?.status === 'ready',
        10_000,
        'instance and redis',
      );
      expect((await get(cut, '/prices/CUT')).headers['x-cache']).toBe('MISS');
      expect((await get(cut, '/prices/CUT')).headers['x-cache']).toBe('HIT');
      await proxy.cut();
      for (let i = 0; i < 3; i++) {
        const res = await get(cut, `/prices/CUT?after=${i}`);
        expect(res.status).toBe(200);
        expect(res.headers['x-cache']).toBe('MISS');
      }
    } finally {
      await cut.close();
    }
  });
});
