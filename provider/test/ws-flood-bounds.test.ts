import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { createTestSchema, deleteTopology, runId, testTopology } from './support/backends.js';
import { connectBus, startProvider, TestClient, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
let admin: postgres.Sql;
let publisher: RabbitBus;
let provider: ProviderHarness;
const clients: TestClient[] = [];

const connect = async () => {
  const c = new TestClient(provider.wsUrl);
  clients.push(c);
  await c.open();
  return c;
};
const resume = { type: 'subscribe', symbols: ['AAPL'], since: '0' };

/** Hub reads waiting on a lock, seen from PostgreSQL. */
const readsWaitingOnLock = async () =>
  Number(
    (
      await admin`SELECT count(*)::int AS n FROM pg_stat_activity
                   WHERE application_name = 'lizards-provider-reader' AND wait_event_type = 'Lock'`
    )[0]!.n,
  );

beforeAll(async () => {
  db = await createTestSchema(run);
  admin = postgres(db.url, { max: 2, onnotice: () => {} });
  publisher = await connectBus();
  // Two read connections, and a lane of one for the hub's reads: REST always has the other.
  provider = await startProvider({
    schema: db.schema,
    databaseUrl: db.url,
    topology,
    ws: { maxConcurrentReads: 1, maxQueuedMessages: 8, subscribeBurst: 4, subscribePerSecond: 1, maxErrors: 3 },
  });
  await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 300));
  await waitFor(async () => (await provider.store.repository.maxSeq()) === '300', 10_000, 'ticks stored');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await provider?.close();
  await publisher?.close();
  await admin?.end();
  await db?.drop();
  await deleteTopology(topology);
});

describe('a flood of resume subscribes', () => {
  it(
    'when several sockets flood resume subscribes while their reads are held up, then /prices/:symbol still ' +
      'answers and the flooding sockets are closed with 1008',
    async () => {
      // Holding the symbols table makes every subscribe's read wait inside PostgreSQL, on a pool connection,
      // for as long as the test wants; REST's /prices/:symbol reads only ticks.
      let release!: () => void;
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holding = admin.begin(async (tx) => {
        await tx.unsafe(`LOCK TABLE "${db.schema}".symbols IN ACCESS EXCLUSIVE MODE`);
        locked();
        await new Promise<void>((resolve) => (release = resolve));
      });
      try {
        await lockTaken;
        const flooders = await Promise.all(Array.from({ length: 4 }, () => connect()));
        for (const c of flooders) c.send(resume);
        await waitFor(async () => (await readsWaitingOnLock()) >= 1, 10_000, 'a hub read to wait on the lock');

        // Not a speed bound: the answer must come while the hub's reads are still held (never, without a lane).
        const answer = await Promise.race([
          provider.app.inject('/prices/AAPL'),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('GET /prices/AAPL got no answer while the hub reads were held')), 15_000),
          ),
        ]);
        expect(answer.statusCode).toBe(200);
        expect(answer.json<{ symbol: string }>().symbol).toBe('AAPL');
        expect(await readsWaitingOnLock()).toBe(1);

        for (const c of flooders) for (let i = 0; i < 20; i++) c.send(resume);
        for (const c of flooders) expect(await c.waitForClose()).toBe(1008);
      } finally {
        release();
        await holding;
      }
      const dropped = await provider.metrics.getSingleMetric('provider_ws_dropped_clients_total')!.get();
      expect(dropped.values.find((v) => v.labels.reason === 'inbound_queue')?.value).toBe(4);
    },
  );

  it('when one socket keeps asking to subscribe faster than allowed, then it gets errors, then 1008', async () => {
    const c = await connect();
    for (let i = 0; i < 7; i++) c.send(resume);
    expect(await c.waitForClose()).toBe(1008);
    expect(c.ofType('subscribed').length).toBeGreaterThanOrEqual(4);
    expect(c.ofType('error').map((m) => m.message)).toEqual(
      Array.from({ length: 3 }, () => 'Too many subscribe requests: at most 4 at once and 1 per second after'),
    );
  });

  it('when a client subscribes within the limits, then every request is answered as usual', async () => {
    const c = await connect();
    for (let i = 0; i < 4; i++) c.send({ type: 'subscribe', symbols: ['AAPL'], since: String(296 + i) });
    await waitFor(() => c.ofType('subscribed').length === 4, 10_000, 'four acknowledgements');
    expect(c.ofType('error')).toEqual([]);
    expect(c.closeCode).toBeUndefined();
  });
});
