import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@lizards/lib';
import { buildRegistryApp } from '../../registry/src/app.js';
import { waitFor } from '@lizards/testkit';

const fixture = fileURLToPath(new URL('./fixtures/lifecycle-service.mjs', import.meta.url));
const registryServer = fileURLToPath(new URL('../../registry/dist/server.js', import.meta.url));
const TOKEN = 'lifecycle-token';

function start(script: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

describe("a service on lib's lifecycle, as a real process", () => {
  let registry: FastifyInstance;
  let registryUrl: string;
  let client: RegistryClient;

  beforeAll(async () => {
    registry = buildRegistryApp({ leaseTtlMs: 500, evictionIntervalMs: 25, token: TOKEN, logger: false });
    await registry.listen({ host: '127.0.0.1', port: 0 });
    registryUrl = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
    client = new RegistryClient({ url: registryUrl, cacheTtlMs: 0 });
  });
  afterAll(async () => {
    await client.close();
    await registry.close();
  });

  it(
    'when started, then it registers and keeps its lease; on SIGTERM it drains in-flight work, deregisters and ' +
      'exits 0',
    async () => {
      const { child, output } = start(fixture, {
        REGISTRY_URL: registryUrl,
        REGISTRY_TOKEN: TOKEN,
        HEARTBEAT_INTERVAL_MS: '100',
        PORT: '0',
      });
      try {
        const [instance] = await waitFor(
          async () => {
            const list = await client.resolve('lifecycle-fixture');
            return list.length === 1 ? list : undefined;
          },
          15_000,
          'registration',
        );
        expect(instance!.ip_address).toBe('127.0.0.1');
        const base = `http://127.0.0.1:${instance!.port_number}`;
        expect((await request(`${base}/health`)).statusCode).toBe(200);

        // several TTLs pass: heartbeats keep the lease
        await new Promise((r) => setTimeout(r, 1500));
        expect(await client.resolve('lifecycle-fixture')).toHaveLength(1);

        const slow = request(`${base}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.json() }));
        await new Promise((r) => setTimeout(r, 100));
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        expect(await slow).toEqual({ status: 200, body: { done: true } });
        const [code] = await exited;
        expect(code, output()).toBe(0);
        expect(await client.resolve('lifecycle-fixture')).toEqual([]);
        const log = output();
        expect(log).toContain('deregistered');
        expect(log).toContain('closing connections');
        expect(log).not.toContain(TOKEN);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );

  it(
    'when the registry is down at start, then the service ' + 'still starts and registers once the registry appears',
    async () => {
      const late = buildRegistryApp({ leaseTtlMs: 1000, evictionIntervalMs: 25, logger: false });
      await late.listen({ host: '127.0.0.1', port: 0 });
      const port = (late.server.address() as AddressInfo).port;
      await late.close();
      const { child, output } = start(fixture, {
        REGISTRY_URL: `http://127.0.0.1:${port}`,
        HEARTBEAT_INTERVAL_MS: '100',
      });
      const revived = buildRegistryApp({ leaseTtlMs: 1000, evictionIntervalMs: 25, logger: false });
      try {
        await waitFor(() => output().includes('registry unreachable'), 15_000, 'the service to find the registry down');
        expect(child.exitCode).toBeNull();
        await revived.listen({ host: '127.0.0.1', port });
        await waitFor(
          () => revived.leaseStore.get('lifecycle-fixture')?.instances.length === 1,
          10_000,
          'late registration',
        );
        const exited = once(child, 'exit');
        child.kill('SIGINT');
        expect(await exited, output()).toEqual([0, null]);
      } finally {
        child.kill('SIGKILL');
        await revived.close();
      }
    },
  );

  it('when a setting is invalid, then the process stops at once with a message naming the variable', async () => {
    const { child, output } = start(fixture, { PORT: 'not-a-port' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output()).toMatch(/PORT: .*got "not-a-port"/);
  });
});

describe('the registry, as a real process', () => {
  it(
    'when sent SIGTERM, then it exits 0; /metrics on its admin port shows instance gauges and the eviction ' +
      'counter',
    async () => {
      const { child, output } = start(registryServer, {
        PORT: '0',
        LEASE_TTL_MS: '300',
        EVICTION_INTERVAL_MS: '20',
        LOG_LEVEL: 'info',
      });
      try {
        const url = await waitFor(() => /"url":"(http:[^"]+)"/.exec(output())?.[1], 10_000, 'registry start');
        const adminUrl = /"adminUrl":"(http:[^"]+)"/.exec(output())![1];
        const client = new RegistryClient({ url, cacheTtlMs: 0 });
        await client.register('metrics-kept', {
          name: 'a',
          ip_address: '127.0.0.1',
          port_number: 1234,
          protocol: 'http',
        });
        await client.register('metrics-evicted', {
          name: 'b',
          ip_address: '127.0.0.1',
          port_number: 1235,
          protocol: 'http',
        });
        const metrics = async () => (await request(`${adminUrl}/metrics`)).body.text();
        expect(await metrics()).toMatch(/registry_instances\{service_id="metrics-kept"[^}]*\} 1/);
        await waitFor(
          async () => /registry_evictions_total\{service_id="metrics-evicted"[^}]*\} 1/.test(await metrics()),
          5000,
          'eviction counted',
        );
        expect(output()).toContain('lease expired; instance evicted');
        await client.close();
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        expect((await exited)[0]).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});
