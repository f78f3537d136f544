import fc from 'fast-check';
import { UNPARTITIONED_CANDLES_SQL } from '@lizards/testkit';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresPriceStore, toCandle, type CandleRow } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import type { NewTick } from '../src/ticks/tick-schema.js';
import { createTestSchema } from './support/backends.js';

const BASE = Date.parse('2024-09-14T22:00:00.000Z');
const SPAN_MS = 2 * 86_400_000;
const INTERVALS = [60, 300, 900, 3600, 86_400];

let db: Awaited<ReturnType<typeof createTestSchema>>;
let store: PriceStore;
let admin: postgres.Sql;

beforeAll(async () => {
  db = await createTestSchema();
  store = await openPostgresPriceStore({ url: db.url, schema: db.schema, readPoolSize: 1 });
  admin = postgres(db.url, { max: 1, onnotice: () => {}, connection: { search_path: db.schema } });
});
afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
});

// Times cluster on a few instants, so ticks share minutes, milliseconds and (with another source) instants, and
// spread over two days, so candles cross partitions and day boundaries.
const time = fc.oneof(
  fc.integer({ min: 0, max: SPAN_MS - 1 }),
  fc
    .constantFrom(0, 59_999, 60_000, 3_599_999, 3_600_000, 7_200_000, 7_200_000 + 1)
    .map((ms) => ms + 86_400_000 - 7_200_000),
);
const tick = fc.record({
  symbol: fc.constantFrom('AAPL', 'MSFT'),
  source: fc.constantFrom('simulated', 'stooq'),
  at: time,
  price: fc.double({ min: 0.01, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  volume: fc.option(fc.integer({ min: 0, max: 1e9 }), { nil: null }),
});
const asNewTick = (t: {
  symbol: string;
  source: string;
  at: number;
  price: number;
  volume: number | null;
}): NewTick => ({
  symbol: t.symbol,
  source: t.source,
  timestamp: new Date(BASE + t.at),
  price: t.price,
  volume: t.volume,
  publishedAt: null,
});
const range = fc
  .tuple(fc.integer({ min: -3_600_000, max: SPAN_MS + 3_600_000 }), fc.integer({ min: 1, max: SPAN_MS + 7_200_000 }))
  .map(([from, length]) => ({ from: new Date(BASE + from), to: new Date(BASE + from + length) }));

describe('GET /prices/:symbol/candles from rollups', () => {
  it('when ticks arrive in any order, in batches, with redeliveries and duplicates, then candles equal the ' +
    'query over raw ticks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(tick, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.array(
          fc.record({ symbol: fc.constantFrom('AAPL', 'MSFT'), seconds: fc.constantFrom(...INTERVALS), range }),
          { minLength: 1, maxLength: 6 },
        ),
        async (batches, redelivered, queries) => {
          await admin`TRUNCATE ticks, candles, symbols`;
          for (const batch of batches) await store.writer.write(batch.map(asNewTick));
          // Redeliveries: whole batches written again, after later ones.
          for (const i of redelivered) await store.writer.write(batches[i % batches.length]!.map(asNewTick));
          for (const q of queries) {
            const fromRollups = await store.history.candles(q.symbol, q.seconds, q.range.from, q.range.to);
            const overTicks = await admin.unsafe<CandleRow[]>(UNPARTITIONED_CANDLES_SQL, [
              q.symbol,
              q.seconds,
              q.range.from.toISOString(),
              q.range.to.toISOString(),
            ]);
            expect(fromRollups).toEqual(overTicks.map(toCandle));
          }
        },
      ),
      // Every run writes to PostgreSQL: a failure is reported as found (shrinking would take minutes).
      { numRuns: 30, endOnFailure: true },
    );
  }, 120_000);
});
