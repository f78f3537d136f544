import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import WebSocket from 'ws';
import { parseGroupLimits } from '../src/rate-limit/rate-limit-plugin.js';
import { REDIS_URL, deleteKeys, startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { freePort, waitFor } from '@lizards/testkit';

const run = randomUUID().slice(0, 8);
const prefix = `lz:${run}:`;
const redis = new Redis(REDIS_URL);
const LIMIT = 5;
const API_KEY = `key-${run}`;

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

describe('RATE_LIMIT_GROUPS', () => {
  it('when it is valid JSON of group limits, then it is read', () => {
    expect(parseGroupLimits('{"session":{"max":10,"windowMs":1000},"websocket":{"max":2}}')).toEqual({
      session: { max: 10, windowMs: 1000 },
      websocket: { max: 2 },
    });
    expect(parseGroupLimits(undefined)).toEqual({});
  });

  it.each(['nope', '{"session":{"max":0}}', '{"session":{"limit":5}}', '[1]'])(
    'when it is %s, then it is refused at start',
    (json) => {
      expect(() => parseGroupLimits(json)).toThrow(
        expect.objectContaining({ code: 'LZ_ERR_GATEWAY_RATE_LIMIT_GROUPS' }),
      );
    },
  );
});

describe('rate limits shared by two gateway replicas through Redis', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateways: RunningGateway[];

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
    const env = {
      REGISTRY_URL: registry.url,
      REDIS_URL,
      CACHE_PREFIX: `${prefix}cache:`,
      RATE_LIMIT_PREFIX: `${prefix}rl:`,
      RATE_LIMIT_MAX: String(LIMIT),
      RATE_LIMIT_GROUPS: JSON.stringify({ websocket: { max: 2 } }),
      RATE_LIMIT_API_KEYS: `${API_KEY}, ${API_KEY}-other`,
    };
    gateways = await Promise.all([startGateway(env), startGateway(env)]);
    for (const g of gateways) {
      await waitFor(
        () => g.app.gateway.directory.instances('provider').length === 1 && g.redis?.status === 'ready',
        10_000,
        'instance and redis',
      );
    }
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await upstream?.stop();
    await registry?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it(
    'when the limit is spread over both replicas, then the limit+1-th request gets 429 with Retry-After and ' +
      'RateLimit-* headers',
    async () => {
      for (let i = 0; i < LIMIT; i++) {
        const res = await request(`${gateways[i % 2]!.url}/prices/AAPL?cc=no-store`);
        expect(res.statusCode).toBe(200);
        expect(res.headers['ratelimit-limit']).toBe(String(LIMIT));
        expect(res.headers['ratelimit-remaining']).toBe(String(LIMIT - i - 1));
        await res.body.dump();
      }
      const refused = await request(`${gateways[LIMIT % 2]!.url}/prices/AAPL?cc=no-store`);
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.headers['ratelimit-remaining']).toBe('0');
      expect(refused.headers['ratelimit-reset']).toBe(refused.headers['retry-after']);
      expect(await refused.body.json()).toMatchObject({
        error: 'Too Many Requests',
        code: 'LZ_ERR_GATEWAY_RATE_LIMITED',
      });
      // The other replica refuses too: the count is shared.
      expect((await request(`${gateways[(LIMIT + 1) % 2]!.url}/symbols`)).statusCode).toBe(429);
      const metrics = await (await request(`${gateways[0]!.adminUrl}/metrics`)).body.text();
      expect(metrics).toMatch(/gateway_rate_limited_total\{group="default",service="gateway"\} [1-9]/);
    },
  );

  it('when a client sends a listed API key, then it is counted by key, not by IP', async () => {
    const key = API_KEY;
    for (let i = 0; i < LIMIT; i++) {
      const res = await request(`${gateways[i % 2]!.url}/symbols`, { headers: { 'x-api-key': key } });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    const refused = await request(`${gateways[0]!.url}/symbols`, { headers: { 'x-api-key': key } });
    expect(refused.statusCode).toBe(429);
    await refused.body.dump();
    const other = await request(`${gateways[1]!.url}/symbols`, { headers: { 'x-api-key': `${key}-other` } });
    expect(other.statusCode).toBe(200);
    await other.body.dump();
    expect((await redis.keys(`${prefix}rl:*`)).some((k) => k.includes(key))).toBe(false);
  });

  it('when WebSocket upgrades exceed their group limit, then the upgrade is answered 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(await upgradeStatus(`${gateways[i % 2]!.url.replace('http', 'ws')}/ws?token=good`));
    expect(statuses).toEqual([101, 101, 429]);
  });
});

describe('who a client is, for its bucket', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await upstream?.stop();
    await registry?.close();
  });

  const gatewayWith = async (env: Record<string, string>) => {
    const gateway = await startGateway({ REGISTRY_URL: registry.url, RATE_LIMIT_MAX: String(LIMIT), ...env });
    gateways.push(gateway);
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
    return gateway;
  };
  const statusesWith = async (gateway: RunningGateway, forwardedFor: (i: number) => string, count: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const res = await request(`${gateway.url}/symbols`, { headers: { 'x-forwarded-for': forwardedFor(i) } });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    return statuses;
  };
  const limited = [...Array<number>(LIMIT).fill(200), ...Array<number>(10).fill(429)];

  it('when 2000 requests each carry a different made-up key (no RATE_LIMIT_API_KEYS), then they share the IP ' +
    'bucket and get 429 past the limit', async () => {
    const gateway = await gatewayWith({});
    const statuses = new Map<number, number>();
    const lanes = Array.from({ length: 10 }, async (_, lane) => {
      for (let i = lane; i < 2000; i += 10) {
        const res = await request(`${gateway.url}/symbols`, { headers: { 'x-api-key': `made-up-${i}` } });
        await res.body.dump();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    });
    await Promise.all(lanes);
    expect(Object.fromEntries(statuses)).toEqual({ 200: LIMIT, 429: 2000 - LIMIT });
    // 2,000 requests: about 7 s alone, several times that on the shared machine under load.
  }, 120_000);

  it.each(['true', '1', '2', 'not-an-address', '10.0.0.0/33'])(
    'when TRUST_PROXY is %s, then the gateway refuses to start, saying what to give',
    async (value) => {
      await expect(startGateway({ REGISTRY_URL: registry.url, TRUST_PROXY: value })).rejects.toMatchObject({
        code: 'LZ_ERR_GATEWAY_TRUST_PROXY',
        message: expect.stringContaining('addresses or CIDRs'),
      });
    },
  );

  it(
    'when the proxy in front is trusted, then a forged left-most X-Forwarded-For does not change the bucket ' +
      "(the proxy's view of the client does)",
    async () => {
      // The test client plays the proxy on 127.0.0.1; 203.0.113.7 is the client it saw, the rest is the client's
      // forgery.
      const gateway = await gatewayWith({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' });
      expect(await statusesWith(gateway, (i) => `198.18.${i}.1, 203.0.113.7`, LIMIT + 10)).toEqual(limited);
      expect(await statusesWith(gateway, () => '203.0.113.8', 1)).toEqual([200]);
    },
  );

  it('when the peer is not a trusted proxy, then its X-Forwarded-For is ignored', async () => {
    const gateway = await gatewayWith({ TRUST_PROXY: '10.0.0.1' });
    expect(await statusesWith(gateway, (i) => `198.18.${i}.1`, LIMIT + 10)).toEqual(limited);
  });
});

describe('rate limits when Redis is unreachable', () => {
  it(
    'when Redis cannot be reached, then each replica counts ' + 'alone (no 5xx) and still refuses past the limit',
    async () => {
      const registry = await startRegistry();
      const upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
      const gateway = await startGateway({
        REGISTRY_URL: registry.url,
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`, // nothing listens there
        RATE_LIMIT_PREFIX: `${prefix}rl-down:`,
        RATE_LIMIT_MAX: '3',
      });
      try {
        await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
          const res = await request(`${gateway.url}/symbols`);
          statuses.push(res.statusCode);
          await res.body.dump();
        }
        expect(statuses).toEqual([200, 200, 200, 429]);
      } finally {
        await gateway.close();
        await upstream.stop();
        await registry.close();
      }
    },
  );
});
