import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '@lizards/testkit';
import { spawnStack, type StackProcess } from './support/stack-process.js';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const run = randomUUID().slice(0, 8);
const schema = `lz_${run}`;
const names = {
  prices: `lz.${run}.prices`,
  store: `lz.${run}.store`,
  live: `lz.${run}.live`,
  cachePrefix: `lz:${run}:cache:`,
  rateLimitPrefix: `lz:${run}:rl:`,
};

describe('node stack/dist/start.js --real against the local PostgreSQL, RabbitMQ and Redis', () => {
  let stack: StackProcess;
  let gateway: string;
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  const redis = new Redis(REDIS_URL, { lazyConnect: true });

  beforeAll(async () => {
    const gatewayPort = await freePort();
    gateway = `http://127.0.0.1:${gatewayPort}`;
    stack = spawnStack(
      {
        GATEWAY_PORT: String(gatewayPort),
        REGISTRY_PORT: String(await freePort()),
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        AMQP_URL,
        PRICES_EXCHANGE: names.prices,
        STORE_QUEUE: names.store,
        LIVE_EXCHANGE: names.live,
        REDIS_URL,
        CACHE_PREFIX: names.cachePrefix,
        RATE_LIMIT_PREFIX: names.rateLimitPrefix,
      },
      ['--real'],
    );
    await waitFor(
      () => (stack.output().includes('Ctrl-C to stop') ? true : undefined),
      60_000,
      `the banner; output so far:\n${stack.output()}`,
    );
    await redis.connect();
  }, 65_000);

  afterAll(async () => {
    if (stack.child.exitCode === null) {
      stack.child.kill('SIGKILL');
      await stack.exited;
    }
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
    const keys = [...(await redis.keys(`${names.cachePrefix}*`)), ...(await redis.keys(`${names.rateLimitPrefix}*`))];
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const q of [names.store, `${names.store}.dlq`]) await ch.deleteQueue(q);
    for (const e of [names.prices, names.live, `${names.store}.dlx`]) await ch.deleteExchange(e);
    await conn.close();
  }, 30_000);

  it('when it is up, then the banner says PostgreSQL, RabbitMQ and Redis are real', () => {
    expect(stack.output()).toMatch(/real\s+postgres, rabbitmq, redis\n/);
    expect(stack.output()).toMatch(/embedded\s+mongodb \(in-process raw store\)\n/);
  });

  it('when the simulated market runs, then its ticks are rows in the PostgreSQL schema of this run', async () => {
    const count = await waitFor(
      async () => {
        const [row] = await sql.unsafe<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM "${schema}".ticks WHERE symbol = 'AAPL'`,
        );
        return row && row.n >= 2 ? row.n : undefined;
      },
      20_000,
      'AAPL rows in PostgreSQL',
    );
    expect(count).toBeGreaterThanOrEqual(2);
  });

  it(
    'when prices are read through the gateway, then the response cache and the rate-limit counters are Redis ' + 'keys',
    async () => {
      const res = await request(`${gateway}/symbols`);
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      const cached = await waitFor(
        async () => {
          const keys = await redis.keys(`${names.cachePrefix}*`);
          return keys.length > 0 ? keys : undefined;
        },
        10_000,
        'a cache key in Redis',
      );
      expect(cached.some((k) => k.includes('/symbols'))).toBe(true);
      expect((await redis.keys(`${names.rateLimitPrefix}*`)).length).toBeGreaterThan(0);
      const again = await request(`${gateway}/symbols`);
      expect(again.headers['x-cache']).toBe('HIT');
      await again.body.dump();
    },
  );

  it(
    'when the providers run, then the store queue and its dead-letter queue exist in RabbitMQ with both ' +
      'providers consuming',
    async () => {
      const conn = await amqp.connect(AMQP_URL);
      try {
        const ch = await conn.createChannel();
        const store = await ch.checkQueue(names.store);
        expect(store.consumerCount).toBe(2);
        await ch.checkQueue(`${names.store}.dlq`);
        await ch.checkExchange(names.prices);
        await ch.checkExchange(names.live);
      } finally {
        await conn.close();
      }
    },
  );

  it('when it gets SIGINT, then it exits 0', async () => {
    stack.child.kill('SIGINT');
    expect((await stack.exited).code).toBe(0);
  }, 30_000);
});
