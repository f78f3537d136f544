import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { RegistryClient } from '@lizards/lib';
import { startService, waitFor, type ServiceProcess } from '@lizards/testkit';
import { REDIS_URL, deleteKeys } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';

// Runs the built output: `npx tsc -b` first.
const gatewayServer = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const prefix = `lz:test-cluster-${randomUUID().slice(0, 8)}:`;
const LIMIT = 8;

/** Pids of the processes that logged the arrival of a request for `path`. */
function servingPids(gateway: ServiceProcess, path: string): Set<number> {
  const pids = gateway.lines
    .filter((l) => l.msg === 'incoming request')
    .filter((l) => String((l.req as { url?: string } | undefined)?.url).startsWith(path))
    .map((l) => l.pid as number);
  return new Set(pids);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The sum of a series over all its label sets in a Prometheus exposition text. */
function seriesSum(text: string, metric: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('GATEWAY_WORKERS=2 (node gateway/dist/server.js)', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateway: ServiceProcess | undefined;
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
  });

  afterAll(async () => {
    await gateway?.stop(2000);
    await upstream?.stop();
    await registry?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it(
    'when started, then two workers serve one registered port, share the Redis rate limit and one aggregated ' +
      '/metrics, a killed worker is replaced, and SIGTERM drains them all and exits 0',
    async () => {
      expect(existsSync(gatewayServer), 'run `npx tsc -b` first').toBe(true);
      gateway = startService('gateway', gatewayServer, process.cwd(), {
        GATEWAY_WORKERS: '2',
        GATEWAY_PORT: '0',
        REGISTRY_URL: registry.url,
        HEARTBEAT_INTERVAL_MS: '200',
        LOG_LEVEL: 'info',
        REDIS_URL,
        RATE_LIMIT_PREFIX: `${prefix}rl:`,
        CACHE_PREFIX: `${prefix}cache:`,
        RATE_LIMIT_MAX: String(LIMIT),
      });
      const exitedEarly = () =>
        gateway!.child.exitCode !== null ? `exited ${gateway!.child.exitCode}: ${gateway!.stderr()}` : undefined;
      const primaryPid = gateway.child.pid!;

      const client = new RegistryClient({ url: registry.url });
      const registered = async () => (await client.resolve('gateway', { fresh: true }))[0];
      // Two workers start (and the primary registers after the first listens): slow on a loaded machine.
      const instance = await waitFor(registered, 30_000, 'registration', 20, exitedEarly);
      await client.close();
      const url = `http://${instance.ip_address}:${instance.port_number}`;
      const adminUrl = `http://${instance.ip_address}:${instance.admin_port}`;
      const listening = () => gateway!.lines.filter((l) => l.msg === 'worker listening');
      await waitFor(() => listening().length >= 2, 15_000, 'both workers', 20, exitedEarly);
      const ready = async () => (await request(`${adminUrl}/ready`, { reset: true })).statusCode === 200;
      await waitFor(ready, 10_000, 'ready');

      // A new connection per request: the primary hands connections to the workers in turn.
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 4; i++) {
        const res = await request(`${url}/symbols?cc=no-store`, { reset: true });
        await res.body.dump();
        statuses.push(res.statusCode);
      }
      const workers = servingPids(gateway, '/symbols');
      expect(workers.size).toBe(2);
      expect(workers.has(primaryPid)).toBe(false);
      // Counted in Redis: the limit holds across the workers (per-worker counters would have admitted all 12).
      expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
      expect(statuses.slice(LIMIT)).toEqual([429, 429, 429, 429]);
      expect(registry.app.leaseStore.get('gateway')?.instances).toHaveLength(1);

      // Two scrapes on new connections land on different workers; each shows both workers' requests.
      for (let i = 0; i < 2; i++) {
        const res = await request(`${adminUrl}/metrics`, { reset: true });
        expect(res.statusCode).toBe(200);
        expect(seriesSum(await res.body.text(), 'gateway_requests_total')).toBe(LIMIT + 4);
      }

      const [killed] = [...workers];
      process.kill(killed!, 'SIGKILL');
      const replacement = await waitFor(
        () => listening().find((l) => !workers.has(l.worker as number))?.worker as number | undefined,
        15_000,
        'a replacement worker',
        20,
        exitedEarly,
      );
      await waitFor(
        async () => {
          const res = await request(`${url}/symbols?cc=no-store`, { reset: true });
          await res.body.dump();
          return servingPids(gateway!, '/symbols').has(replacement);
        },
        10_000,
        'the replacement serving',
      );
      expect(alive(killed!)).toBe(false);

      expect(await gateway.stop()).toBe(0);
      expect(registry.app.leaseStore.get('gateway')?.instances ?? []).toHaveLength(0);
      for (const pid of [...workers, replacement]) expect(alive(pid)).toBe(false);
    },
  );
});
