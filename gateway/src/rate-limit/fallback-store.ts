/// <reference path="./fastify-rate-limit-stores.d.ts" />
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import { BatchedRedisStore } from './batched-redis-store.js';

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;

interface CounterStore {
  incr(key: string, cb: Callback, timeWindow: number, max: number): void;
}

export interface FallbackStoreOptions {
  /** Shared counters; undefined = this instance counts alone. */
  redis?: Redis | undefined;
  prefix: string;
  /** How often locally admitted counts are added to Redis (see BatchedRedisStore); 0 = every request. */
  syncMs: number;
  log: FastifyBaseLogger;
}

/**
 * Rate-limit counters in Redis (shared by every gateway replica, via BatchedRedisStore) that fall back to
 * the plugin's in-memory LocalStore while Redis is unreachable: limits then hold per gateway instance instead of
 * failing requests. `Store` is a class bound to its options, as @fastify/rate-limit's `store` option expects;
 * `close` stops the periodic sync.
 */
export function fallbackStore(opts: FallbackStoreOptions) {
  const redis = opts.redis;
  const shared = redis
    ? new BatchedRedisStore({
        redis,
        prefix: opts.prefix,
        syncMs: opts.syncMs,
        onSyncError: (err) => opts.log.warn({ err }, 'rate-limit counts could not be added to Redis'),
      })
    : undefined;
  const local: CounterStore = new LocalStore(false, false, 10_000);
  let degraded = false;

  const useLocal = (key: string, cb: Callback, timeWindow: number, max: number, err?: unknown) => {
    if (!degraded) opts.log.warn({ err }, 'rate-limit store unreachable; counting per gateway instance');
    degraded = true;
    local.incr(key, cb, timeWindow, max);
  };

  class FallbackStore {
    incr(key: string, cb: Callback, timeWindow: number, max: number): void {
      if (!shared) {
        local.incr(key, cb, timeWindow, max);
        return;
      }
      if (redis!.status !== 'ready') {
        useLocal(key, cb, timeWindow, max);
        return;
      }
      shared.incr(
        key,
        (err, result) => {
          if (err) return useLocal(key, cb, timeWindow, max, err);
          if (degraded) opts.log.info('rate-limit store reachable again; counting across replicas');
          degraded = false;
          cb(null, result);
        },
        timeWindow,
        max,
      );
    }

    child(): FallbackStore {
      return this;
    }
  }
  return { Store: FallbackStore, close: async () => shared?.close() };
}
