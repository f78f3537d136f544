import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RabbitBus } from '@lizards/lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, deleteTopology, providerProcessEnv, runId, testTopology } from './support/backends.js';
import { connectBus, TestClient } from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { freePort, startService, waitFor, type ServiceProcess } from '@lizards/testkit';

// Runs the built output: `npx tsc -b` first.
const root = fileURLToPath(new URL('../../', import.meta.url));
const providerServer = `${root}provider/dist/server.js`;
const registryServer = `${root}registry/dist/server.js`;
const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
const children: ServiceProcess[] = [];
let publisher: RabbitBus | undefined;

function start(script: string, env: Record<string, string>): ServiceProcess {
  const service = startService(script.split('/').at(-3)!, script, root, env);
  children.push(service);
  return service;
}

beforeAll(async () => {
  db = await createTestSchema(run);
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await publisher?.close();
  await db?.drop();
  await deleteTopology(topology);
});

describe('node provider/dist/server.js', () => {
  it(
    'starts with real adapters, registers as provider, serves, ' + 'and shuts down gracefully with a reconnect hint',
    async () => {
      expect(existsSync(providerServer), 'run `npx tsc -b` first').toBe(true);
      const registryPort = await freePort();
      const registry = start(registryServer, { PORT: String(registryPort), LOG_LEVEL: 'warn' });
      const registryUrl = `http://127.0.0.1:${registryPort}`;
      await waitFor(
        async () => (await fetch(`${registryUrl}/health`).catch(() => undefined))?.ok,
        15_000,
        'registry up',
      );

      const provider = start(providerServer, {
        ...providerProcessEnv(db, topology),
        REGISTRY_URL: registryUrl,
        HEARTBEAT_INTERVAL_MS: '200',
        SESSION_SECRET: 'process-test-secret-0123456789',
      });
      const ready = await waitFor(
        () => provider.lines.find((l) => l.msg === 'provider ready'),
        20_000,
        'provider ready',
      );
      const url = ready.url as string;
      const adminUrl = ready.adminUrl as string;
      expect(ready).toMatchObject({ store: 'postgres', bus: 'rabbitmq' });

      const services = await waitFor(
        async () => {
          const res = await fetch(`${registryUrl}/services/provider`);
          return res.ok ? ((await res.json()) as { instances: { port_number: string }[] }) : undefined;
        },
        10_000,
        'registered',
      );
      expect(services.instances.map((i) => i.port_number)).toContain(new URL(url).port);
      await waitFor(async () => (await fetch(`${adminUrl}/ready`)).ok, 10_000, 'ready');

      publisher = await connectBus();
      await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 1));
      await waitFor(async () => (await fetch(`${url}/prices/AAPL`)).ok, 10_000, 'first tick stored');
      const session = (await (await fetch(`${url}/session`, { method: 'POST' })).json()) as { websocket_url: string };
      const client = new TestClient(session.websocket_url);
      await client.open();
      client.send({ type: 'subscribe', symbols: ['AAPL'] });
      await client.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);
      await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 1, { startIndex: 1 }));
      await waitFor(() => client.liveTicks().length === 1, 10_000, 'live tick through the process');

      provider.child.kill('SIGTERM');
      expect(await client.waitForClose()).toBe(1001);
      expect(client.messages.at(-1)).toEqual({ type: 'reconnect', reason: 'shutdown' });
      expect(await provider.exited).toBe(0);
      expect((await fetch(`${registryUrl}/services/provider`)).status).toBe(404);
      registry.child.kill('SIGTERM');
      await registry.exited;
    },
  );
});
