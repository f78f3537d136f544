import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpProxy } from '@lizards/testkit';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import { createTestSchema, deleteTopology, proxiedDatabase, runId, testTopology } from './support/backends.js';
import { startProvider } from './support/provider-harness.js';

let db: Awaited<ReturnType<typeof createTestSchema>>;
let proxy: TcpProxy;
let proxiedUrl: string;
const opened: PriceStore[] = [];
const topology = testTopology(runId());

/** Resets every connection through the proxy every 100 ms for 1.2 s, with 30 ms latency each way meanwhile. */
function resetsForASecond(): () => void {
  // Each statement takes a round trip of 2 × 30 ms, so a reset every 100 ms hits the start-up's queries mid-way.
  proxy.setLatency(30);
  const resets = setInterval(() => proxy.reset(), 100);
  const stop = () => {
    clearInterval(resets);
    proxy.setLatency(0);
  };
  setTimeout(stop, 1200);
  return stop;
}

beforeAll(async () => {
  db = await createTestSchema();
  ({ proxy, url: proxiedUrl } = await proxiedDatabase(db.url));
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await proxy?.stop();
  await db?.drop();
  await deleteTopology(topology);
});

describe('opening the store while PostgreSQL connections are reset', () => {
  it('when every connection is reset again and again for a second while the provider migrates, then the store ' +
    'opens once the resets stop (a provider restarted into a network blip starts, it does not exit)', async () => {
    const stopResets = resetsForASecond();
    try {
      const store = await openPostgresPriceStore({ url: proxiedUrl, schema: db.schema, readPoolSize: 1 });
      opened.push(store);
      await expect(store.repository.maxSeq()).resolves.toBeDefined();
    } finally {
      stopResets();
    }
  }, 30_000);

  it('when every connection is reset again and again for a second while the provider starts on an open store, then ' +
    'it starts (its first cursor read is tried again) and serves', async () => {
    const store = await openPostgresPriceStore({ url: proxiedUrl, schema: db.schema, readPoolSize: 1 });
    opened.push(store);
    const stopResets = resetsForASecond();
    try {
      const provider = await startProvider({ schema: db.schema, databaseUrl: proxiedUrl, topology, store });
      try {
        const res = await fetch(`${provider.baseUrl}/symbols`);
        expect(res.status).toBe(200);
      } finally {
        await provider.close();
      }
    } finally {
      stopResets();
    }
  }, 30_000);
});
