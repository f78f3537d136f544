/// <reference path="./fastify-rate-limit-stores.d.ts" />
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;

interface CounterStore {
  incr(key: string, cb: Callback, timeWindow: number, max: number): void;
}

export interface FallbackStoreOptions {
  /** Shared counters; undefined = this instance counts alone. */
  redis?: Redis | undefined;
  prefix: string;
  log: FastifyBaseLogger;
  onFallback?: () => void;
}

/**
 * Rate-limit counters in Redis (shared by every gateway replica, via the plugin's RedisStore) that fall back to
 * the plugin's in-memory LocalStore while Redis is unreachable: limits then hold per gateway instance instead of
 * failing requests. A store class bound to its options, as @fastify/rate-limit's `store` option expects.
 */
export function fallbackStore(opts: FallbackStoreOptions) {
  const shared: CounterStore | undefined = opts.redis ? new RedisStore(false, false, opts.redis, opts.prefix) : undefined;
  const local: CounterStore = new LocalStore(false, false, 10_000);
  let degraded = false;

  const useLocal = (key: string, cb: Callback, timeWindow: number, max: number, err?: unknown) => {
    if (!degraded) opts.log.warn({ err }, 'rate-limit store unreachable; counting per gateway instance');
    degraded = true;
    opts.onFallback?.();
    local.incr(key, cb, timeWindow, max);
  };

  class FallbackStore {
    incr(key: string, cb: Callback, timeWindow: number, max: number): void {
      if (!shared) return local.incr(key, cb, timeWindow, max);
      if (opts.redis!.status !== 'ready') return useLocal(key, cb, timeWindow, max);
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
  return FallbackStore;
}
