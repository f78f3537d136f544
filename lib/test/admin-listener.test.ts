import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CommonConfig,
  createMetricsRegistry,
  loadConfig,
  observabilityPlugin,
  runService,
  type RunningService,
} from '@lizards/lib';
import { buildRegistryApp } from '../../registry/src/app.js';
import { freePort } from '@lizards/testkit';

const started: RunningService[] = [];
const registries: FastifyInstance[] = [];

/** A minimal service on lib's lifecycle, with one dependency check. */
async function startService(env: Record<string, string> = {}, serviceId?: string): Promise<RunningService> {
  const app = Fastify({ logger: false });
  app.register(observabilityPlugin, {
    registry: createMetricsRegistry('admin-test'),
    readiness: { store: () => true },
  });
  app.get('/hello', async () => ({ hello: 'world' }));
  const running = await runService({
    app,
    config: loadConfig(CommonConfig, { LOG_LEVEL: 'silent', ...env }),
    handleSignals: false,
    ...(serviceId ? { serviceId } : {}),
  });
  started.push(running);
  return running;
}

const status = async (url: string) => {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
};

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.shutdown()));
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

describe('the admin listener', () => {
  it(
    'when a service runs, then its public port serves /health and its routes but answers 404 for /ready and ' +
      '/metrics',
    async () => {
      const service = await startService();
      expect(await status(`${service.url}/health`)).toBe(200);
      expect(await status(`${service.url}/hello`)).toBe(200);
      expect(await status(`${service.url}/ready`)).toBe(404);
      expect(await status(`${service.url}/metrics`)).toBe(404);
    },
  );

  it(
    'when a service runs, then its admin port serves /health, /ready with the checks and /metrics, ' +
      'and nothing else',
    async () => {
      const service = await startService();
      expect(service.adminPort).not.toBe(service.port);
      expect(service.adminUrl).toBe(`http://127.0.0.1:${service.adminPort}`);
      expect(await status(`${service.adminUrl}/health`)).toBe(200);
      const ready = await request(`${service.adminUrl}/ready`);
      expect(await ready.body.json()).toEqual({ status: 'ready', checks: { store: 'ok' } });
      const metrics = await request(`${service.adminUrl}/metrics`);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(await metrics.body.text()).toContain('process_cpu_user_seconds_total{service="admin-test"}');
      expect(await status(`${service.adminUrl}/hello`)).toBe(404);
    },
  );

  it('when ADMIN_PORT and ADMIN_HOST are set, then the admin listener binds there', async () => {
    const port = await freePort();
    const service = await startService({ ADMIN_PORT: String(port), ADMIN_HOST: '127.0.0.1' });
    expect(service.adminPort).toBe(port);
    expect(await status(`http://127.0.0.1:${port}/metrics`)).toBe(200);
  });

  it('when the admin port is taken, then the start fails and the public port is released', async () => {
    const taken = await startService();
    const publicPort = await freePort();
    await expect(startService({ PORT: String(publicPort), ADMIN_PORT: String(taken.adminPort) })).rejects.toThrow(
      /EADDRINUSE/,
    );
    const again = await startService({ PORT: String(publicPort) });
    expect(again.port).toBe(publicPort);
  });

  it(
    'when the service registers, then its registration carries the admin port, and shutting down closes both ' +
      'listeners',
    async () => {
      const registry = buildRegistryApp({ leaseTtlMs: 10_000, evictionIntervalMs: 1000, logger: false });
      registries.push(registry);
      await registry.listen({ host: '127.0.0.1', port: 0 });
      const service = await startService(
        { REGISTRY_URL: `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}` },
        'admin-test',
      );
      const [instance] = registry.leaseStore.get('admin-test')!.instances;
      expect(instance).toMatchObject({ port_number: String(service.port), admin_port: String(service.adminPort) });
      await service.shutdown();
      await expect(status(`${service.url}/health`)).rejects.toThrow(/ECONNREFUSED/);
      await expect(status(`${service.adminUrl}/health`)).rejects.toThrow(/ECONNREFUSED/);
    },
  );
});
