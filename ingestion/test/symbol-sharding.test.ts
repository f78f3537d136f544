import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig, MemoryBroker, RegistryClient } from '@lizards/lib';
import { buildRegistryApp } from '../../registry/src/app.js';
import { IngestionConfig } from '../src/config.js';
import { startIngestionService, type IngestionService } from '../src/ingestion-service.js';
import { EmbeddedRawStore } from '../src/raw-store/embedded-raw-store.js';
import { US_EQUITY_SYMBOLS } from '../src/sources/us-equities.js';
import { TEST_RAW_STORE_BYTES } from './support/ingestion-harness.js';
import { waitFor } from '@lizards/testkit';

const LEASE_TTL_MS = 3000;
const universe = [...US_EQUITY_SYMBOLS].sort();

async function startInstance(registryUrl: string): Promise<IngestionService> {
  const config = loadConfig(IngestionConfig, {
    REGISTRY_URL: registryUrl,
    HEARTBEAT_INTERVAL_MS: '250',
    SOURCES: 'simulated',
    SIMULATED_TICK_MS: '100',
    LOG_LEVEL: 'silent',
  });
  return startIngestionService({
    config,
    bus: new MemoryBroker().connect(),
    rawStore: new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 1 }),
    logger: false,
    watchWaitMs: 5000,
  });
}

const assigned = (s: IngestionService): string[] => s.app.ingestion.scheduler.assignedSymbols('simulated');

/** Symbols in the documents an instance fetched after `since`. */
async function polledSince(s: IngestionService, since: number): Promise<{ documents: number; symbols: Set<string> }> {
  const docs = (await s.app.ingestion.rawStore.recent({ limit: 5000 })).filter((d) => d.fetched_at.getTime() > since);
  return { documents: docs.length, symbols: new Set(docs.flatMap((d) => d.ticks.map((t) => t.symbol))) };
}

describe('symbol sharding over live ingestion instances', () => {
  let registry: FastifyInstance;
  let registryUrl = '';
  let a: IngestionService;
  let b: IngestionService;

  beforeAll(async () => {
    registry = buildRegistryApp({ leaseTtlMs: LEASE_TTL_MS, evictionIntervalMs: 100, logger: false });
    await registry.listen({ host: '127.0.0.1', port: 0 });
    registryUrl = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
    a = await startInstance(registryUrl);
    b = await startInstance(registryUrl);
  });

  afterAll(async () => {
    await a?.shutdown();
    await b?.shutdown();
    await registry?.close();
  });

  it(
    'when an instance starts, then it registers its HTTP endpoint as ingestion and its gRPC endpoint as ' +
      'ingestion-grpc with protocol gRPC',
    async () => {
      const http = (await registry.inject({ method: 'GET', url: '/services/ingestion' })).json() as {
        instances: { port_number: string; protocol: string }[];
      };
      const grpc = (await registry.inject({ method: 'GET', url: '/services/ingestion-grpc' })).json() as {
        instances: { port_number: string; protocol: string }[];
      };
      expect(http.instances.map((i) => [i.protocol, i.port_number]).sort()).toEqual(
        [a, b].map((s) => ['http', String(s.running.port)]).sort(),
      );
      expect(grpc.instances.map((i) => [i.protocol, i.port_number]).sort()).toEqual(
        [a, b].map((s) => ['gRPC', String(s.app.ingestion.grpcPort)]).sort(),
      );
    },
  );

  it(
    'when two instances are registered, then they split the universe with no overlap and no gap, in what they ' +
      'poll too',
    async () => {
      const idA = a.running.registrar!.instanceIds.ingestion!;
      const idB = b.running.registrar!.instanceIds.ingestion!;
      const both = [idA, idB].sort().join(',');
      await waitFor(
        () => a.shard.liveMembers.join(',') === both && b.shard.liveMembers.join(',') === both,
        10_000,
        'both instances seeing both',
      );

      const shareA = assigned(a);
      const shareB = assigned(b);
      expect(shareA.length).toBeGreaterThan(0);
      expect(shareB.length).toBeGreaterThan(0);
      expect(shareA.filter((s) => shareB.includes(s))).toEqual([]);
      expect([...shareA, ...shareB].sort()).toEqual(universe);

      const stableSince = Date.now();
      await waitFor(
        async () =>
          (await polledSince(a, stableSince)).documents >= 3 && (await polledSince(b, stableSince)).documents >= 3,
        10_000,
        'polls after the split',
      );
      const polledA = await polledSince(a, stableSince);
      const polledB = await polledSince(b, stableSince);
      expect([...polledA.symbols].sort()).toEqual([...shareA].sort());
      expect([...polledB.symbols].sort()).toEqual([...shareB].sort());
    },
  );

  it(
    'when a third instance registers and then stops heartbeating, then the others give it a share and take it ' +
      'back once its lease expires',
    async () => {
      const client = new RegistryClient({ url: registryUrl });
      const ghost = await client.register('ingestion', {
        name: 'ghost',
        ip_address: '127.0.0.1',
        port_number: 1,
        protocol: 'http',
      });
      await waitFor(() => a.shard.liveMembers.includes(ghost.instance_id), 10_000, 'the third instance being seen');
      await waitFor(
        () => b.shard.liveMembers.includes(ghost.instance_id),
        10_000,
        'the third instance being seen by b',
      );
      const shrunk = [...assigned(a), ...assigned(b)];
      expect(shrunk.length).toBeLessThan(universe.length);
      expect(new Set(shrunk).size).toBe(shrunk.length);
      // No heartbeat from the ghost: evicted after one TTL (plus the eviction tick), and its share comes back.
      await waitFor(
        () => assigned(a).length + assigned(b).length === universe.length,
        LEASE_TTL_MS + 2000,
        'the lapsed share coming back',
      );
      expect([...assigned(a), ...assigned(b)].sort()).toEqual(universe);
      await client.close();
    },
  );

  it('when one instance deregisters, then the other takes every symbol within one heartbeat TTL', async () => {
    await b.shutdown();
    await waitFor(() => assigned(a).length === universe.length, LEASE_TTL_MS, 'the survivor taking every symbol');
    const since = Date.now();
    await waitFor(
      async () => (await polledSince(a, since)).symbols.size === universe.length,
      10_000,
      'the survivor polling every symbol',
    );
  });
});
