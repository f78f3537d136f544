import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';

/**
 * An ioredis client that fails fast instead of queueing while Redis is unreachable, so the cache and the
 * rate limiter can fall back at once: no offline queue, no per-command retries, a short command timeout,
 * and reconnection in the background. Errors are logged once per outage.
 */
export function createRedisConnection(
  url: string,
  log: () => FastifyBaseLogger,
  opts: { commandTimeoutMs?: number } = {},
): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let down = false;
  redis.on('error', (err) => {
    if (down) return;
    down = true;
    log().warn({ err }, 'redis unreachable; cache bypassed, rate limits counted per instance');
  });
  redis.on('ready', () => {
    if (down) log().info('redis reachable again');
    down = false;
  });
  return redis;
}
