import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { BatchedRedisStore } from '../src/rate-limit/batched-redis-store.js';
import { REDIS_URL, deleteKeys } from './support/gateway-server.js';

const prefix = `lz:${randomUUID().slice(0, 8)}:rl-batched:`;
const admin = new Redis(REDIS_URL);
const clients: Redis[] = [];
const stores: BatchedRedisStore[] = [];

function replica(syncMs = 1_000_000): BatchedRedisStore {
  const redis = new Redis(REDIS_URL);
  clients.push(redis);
  const store = new BatchedRedisStore({ redis, prefix, syncMs });
  stores.push(store);
  return store;
}

function incr(
  store: BatchedRedisStore,
  key: string,
  windowMs: number,
  max: number,
): Promise<{ current: number; ttl: number }> {
  return new Promise((resolve, reject) =>
    store.incr(key, (err, result) => (err ? reject(err) : resolve(result!)), windowMs, max),
  );
}

async function inRedis(key: string): Promise<number> {
  return Number((await admin.get(`${prefix}${key}`)) ?? 0);
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await deleteKeys(admin, prefix);
  admin.disconnect();
});

describe('BatchedRedisStore', () => {
  it(
    'when the limit is small, then each admitted request is counted in Redis at once and the count is exact ' +
      'across replicas',
    async () => {
      const [a, b] = [replica(), replica()];
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await incr(i % 2 ? b : a, 'small', 60_000, 5)).current);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      expect(await inRedis('small')).toBe(5);
      // Past the limit: refused on both replicas, and the refused requests still reach Redis with the next batch.
      expect((await incr(b, 'small', 60_000, 5)).current).toBeGreaterThan(5);
      expect((await incr(a, 'small', 60_000, 5)).current).toBeGreaterThan(5);
      await Promise.all([a.sync(), b.sync()]);
      expect(await inRedis('small')).toBe(7);
    },
  );

  it(
    'when the count is far from a large limit, then requests are admitted on the local view and added to Redis ' +
      'in one batch at the next sync',
    async () => {
      const a = replica();
      const first = await incr(a, 'far', 60_000, 64_000);
      expect(first.current).toBe(1);
      expect(first.ttl).toBeGreaterThan(59_000);
      for (let i = 2; i <= 100; i++) expect((await incr(a, 'far', 60_000, 64_000)).current).toBe(i);
      // Not yet in Redis: they were admitted on the local view.
      expect(await inRedis('far')).toBe(1);
      await a.sync();
      expect(await inRedis('far')).toBe(100);
      expect(await admin.pttl(`${prefix}far`)).toBeGreaterThan(59_000);
    },
  );

  it(
    'when two replicas share a key, then each sees the other after a sync, and neither admits past the limit ' +
      'plus the documented tolerance',
    async () => {
      const max = 640; // budget 10 per replica between syncs
      const [a, b] = [replica(), replica()];
      let admitted = 0;
      for (let round = 0; round < 200; round++) {
        for (const s of [a, b])
          for (let i = 0; i < 12; i++) if ((await incr(s, 'shared', 60_000, max)).current <= max) admitted++;
        await Promise.all([a.sync(), b.sync()]);
      }
      expect(admitted).toBeGreaterThanOrEqual(max);
      expect(admitted).toBeLessThanOrEqual(max + 3 * Math.floor(max / 64));
      expect(await inRedis('shared')).toBe(200 * 24);
      // Past the limit both replicas refuse.
      expect((await incr(a, 'shared', 60_000, max)).current).toBeGreaterThan(max);
      expect((await incr(b, 'shared', 60_000, max)).current).toBeGreaterThan(max);
    },
  );

  it('when the window ends, then the count starts again', async () => {
    const a = replica(20);
    for (let i = 0; i < 70; i++) await incr(a, 'window', 300, 6400);
    await a.sync();
    expect(await inRedis('window')).toBe(70);
    await new Promise((r) => setTimeout(r, 400));
    expect((await incr(a, 'window', 300, 6400)).current).toBe(1);
  });

  it('when sync is 0, then every request is one Redis command', async () => {
    const a = replica(0);
    for (let i = 1; i <= 5; i++) expect((await incr(a, 'exact', 60_000, 64_000)).current).toBe(i);
    expect(await inRedis('exact')).toBe(5);
  });
});
