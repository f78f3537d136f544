import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { RegistryClient, loadConfig } from '@lizards/lib';
import { buildGatewayApp } from '../../src/app.js';
import { GatewayConfig } from '../../src/config.js';
import { createRedisConnection } from '../../src/redis/redis-connection.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  port: number;
  redis: Redis | undefined;
  close(): Promise<void>;
}

/** A gateway listening on a free port, configured through the same env keys as in production. */
export async function startGateway(env: Record<string, string | undefined>): Promise<RunningGateway> {
  const config = loadConfig(GatewayConfig, { LOG_LEVEL: 'silent', PORT: '0', REGISTRY_WATCH_WAIT_MS: '5000', REGISTRY_RETRY_MS: '100', ...env });
  const registry = new RegistryClient({ url: config.REGISTRY_URL, timeoutMs: 1000 });
  let app: FastifyInstance | undefined;
  const redis = config.REDIS_URL ? createRedisConnection(config.REDIS_URL, () => app!.log) : undefined;
  app = buildGatewayApp({ config, registry, redis, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const running = app;
  return {
    app: running,
    port,
    url: `http://127.0.0.1:${port}`,
    redis,
    async close() {
      await running.close();
      redis?.disconnect();
      void registry.close().catch(() => undefined);
    },
  };
}

/** Deletes every Redis key under `prefix` (test clean-up). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
