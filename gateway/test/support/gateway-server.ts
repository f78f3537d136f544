import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { RegistryClient, createMetricsRegistry, loadConfig } from '@lizards/lib';
import { buildGatewayApp } from '../../src/app.js';
import { GatewayConfig } from '../../src/config.js';
import { createRedisConnection } from '../../src/redis/redis-connection.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  port: number;
  /** The admin listener: /health, /ready, /metrics. */
  adminUrl: string;
  redis: Redis | undefined;
  /** The sum of a gateway series over the lines whose labels include `labels`, read from its metrics registry. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface GatewayTestOptions {
  /** Receives the gateway's log lines (level info and up), parsed. */
  logs?: Record<string, unknown>[];
}

/** A gateway listening on a free port, configured through the same env keys as in production. */
export async function startGateway(
  env: Record<string, string | undefined>,
  opts: GatewayTestOptions = {},
): Promise<RunningGateway> {
  const config = loadConfig(GatewayConfig, {
    LOG_LEVEL: 'silent',
    PORT: '0',
    REGISTRY_WATCH_WAIT_MS: '5000',
    REGISTRY_RETRY_MS: '100',
    ...env,
  });
  const registry = new RegistryClient({ url: config.REGISTRY_URL, timeoutMs: 1000 });
  let app: FastifyInstance | undefined;
  const redis = config.REDIS_URL ? createRedisConnection(config.REDIS_URL, () => app!.log) : undefined;
  const metricsRegistry = createMetricsRegistry('gateway');
  const { logs } = opts;
  const logger = logs
    ? {
        level: 'info',
        stream: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
      }
    : false;
  app = buildGatewayApp({ config, registry, redis, logger, metricsRegistry });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.admin.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const running = app;
  return {
    app: running,
    port,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${(app.admin.server.address() as AddressInfo).port}`,
    redis,
    async metric(name, labels = {}) {
      const series = await metricsRegistry.getSingleMetric(name)?.get();
      const matching = (series?.values ?? []).filter((v) =>
        Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
      );
      return matching.reduce((sum, v) => sum + v.value, 0);
    },
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
