import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { createMetricsRegistry, observabilityPlugin, type ReadinessCheck } from '@lizards/lib';

let app: FastifyInstance | undefined;

async function ready(readiness: Record<string, ReadinessCheck>): Promise<{ status: number; body: unknown }> {
  app = Fastify();
  await app.register(observabilityPlugin, { registry: createMetricsRegistry('test'), readiness });
  const res = await app.admin.inject({ method: 'GET', url: '/ready' });
  return { status: res.statusCode, body: res.json() };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('/ready (admin listener)', () => {
  it('when every check passes, then 200 ready with each check ok', async () => {
    expect(await ready({ db: () => true, bus: async () => 'ok' })).toEqual({
      status: 200,
      body: { status: 'ready', checks: { db: 'ok', bus: 'ok' } },
    });
  });

  it('when a check is degraded, then 200 degraded naming why: the service still serves', async () => {
    expect(await ready({ db: () => true, cache: () => ({ degraded: 'redis down; uncached' }) })).toEqual({
      status: 200,
      body: { status: 'degraded', checks: { db: 'ok', cache: 'degraded: redis down; uncached' } },
    });
  });

  it('when a check is down, fails with a word or throws, then 503 not ready, even beside a degraded one', async () => {
    const res = await ready({
      db: () => false,
      bus: async () => 'reconnecting',
      cache: () => ({ degraded: 'uncached' }),
      store: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    expect(res).toEqual({
      status: 503,
      body: {
        status: 'not ready',
        checks: { db: 'down', bus: 'reconnecting', cache: 'degraded: uncached', store: 'connect ECONNREFUSED' },
      },
    });
  });
});
