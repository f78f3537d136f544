import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

/** `<status code> <status word>` of the gateway's /ready. */
async function readiness(base: string): Promise<string> {
  const res = await request(`${base}/ready`);
  return `${res.statusCode} ${((await res.body.json()) as { status: string }).status}`;
}

const LIMIT = 20;

async function get(url: string, apiKey: string): Promise<{ status: number; cache: string | undefined }> {
  const res = await request(url, { headers: { 'x-api-key': apiKey } });
  await res.body.dump();
  return { status: res.statusCode, cache: res.headers['x-cache'] as string | undefined };
}

/** Sends `count` GETs with one API key (one rate-limit bucket) and returns their answers. */
async function burst(
  url: string,
  apiKey: string,
  count: number,
): Promise<{ status: number; cache: string | undefined }[]> {
  const answers = [];
  for (let i = 0; i < count; i++) answers.push(await get(url, apiKey));
  return answers;
}

// Scenario 4: the gateway's Redis (a private redis-server) really stopped, then started again.
describe('Redis stopped under the gateway', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Each phase counts in a bucket of its own: only listed API keys get one.
    const gatewayEnv = {
      RATE_LIMIT_MAX: String(LIMIT),
      RATE_LIMIT_WINDOW_MS: '600000',
      RATE_LIMIT_API_KEYS: 'warm,shared,while-down,after',
    };
    stack = await Stack.start({ providers: 1, privateRedis: true, gatewayEnv });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when Redis is down, then the gateway serves uncached, limits each client on its own (fail-open per ' +
    'instance), never answers 5xx, and caches again once Redis is back', async () => {
    const price = `${stack.gateway.url}/prices/AAPL`;
    const redis = new Redis({ port: stack.redis.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      // Redis up: cached, and the limit shared through Redis.
      expect(await get(price, 'warm')).toMatchObject({ status: 200, cache: 'MISS' });
      expect(await get(price, 'warm')).toMatchObject({ status: 200, cache: 'HIT' });
      expect((await redis.keys(`lz:${stack.run}:*`)).length).toBeGreaterThan(0);
      const shared = await burst(price, 'shared', LIMIT + 5);
      expect(shared.filter((a) => a.status === 200)).toHaveLength(LIMIT);
      expect(shared.filter((a) => a.status === 429)).toHaveLength(5);
    } finally {
      redis.disconnect();
    }

    await stack.redis.stop();
    await waitFor(
      async () => (await readiness(stack.gateway.adminUrl)) === '200 degraded',
      10_000,
      'the gateway to report Redis down (degraded, still ready)',
    );
    const down = await burst(price, 'while-down', LIMIT + 5);
    expect(down.filter((a) => a.status >= 500)).toEqual([]);
    expect(down.filter((a) => a.status === 200)).toHaveLength(LIMIT);
    expect(down.filter((a) => a.status === 429)).toHaveLength(5);
    expect(down.filter((a) => a.status === 200).every((a) => a.cache === 'MISS')).toBe(true);

    // Prices still flow to a client that connects through the gateway while Redis is down.
    const client = await stack.connectClient();
    for (let i = 0; i < 20; i++) await stack.feeder.send(10);

    await stack.redis.start(stack.redis.port);
    await waitFor(
      async () => (await readiness(stack.gateway.adminUrl)) === '200 ready',
      20_000,
      'the gateway to reconnect to Redis',
    );
    const again = [await get(price, 'after'), await get(price, 'after')];
    expect(again.map((a) => a.status)).toEqual([200, 200]);
    expect(again[1]!.cache).toBe('HIT');

    await expectAcceptedStoredAndSeen(stack, [client]);
    expect(stack.gateway.alive).toBe(true);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 120_000);
});
