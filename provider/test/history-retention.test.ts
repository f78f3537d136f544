import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import type { NewTick } from '../src/ticks/tick-schema.js';
import { createTestSchema } from './support/backends.js';

const DAY = 86_400_000;
const now = new Date('2024-10-01T12:00:00.000Z');
const tick = (at: string, price = 100): NewTick => ({
  symbol: 'AAPL',
  price,
  timestamp: new Date(at),
  source: 'simulated',
  volume: 1,
  publishedAt: null,
});

let db: Awaited<ReturnType<typeof createTestSchema>>;
let a: PriceStore;
let b: PriceStore;
let admin: postgres.Sql;
const partitions = async () =>
  (
    await admin`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = ${`"${db.schema}".ticks`}::regclass ORDER BY 1`
  ).map((r) => r.relname as string);
const count = async (table: string, where = 'true') =>
  Number((await admin.unsafe(`SELECT count(*)::int AS n FROM "${db.schema}".${table} WHERE ${where}`))[0]!.n);

beforeAll(async () => {
  db = await createTestSchema();
  // Two providers on one database: ticks kept 30 days, candles 60.
  const open = () =>
    openPostgresPriceStore({
      url: db.url,
      schema: db.schema,
      readPoolSize: 1,
      retention: { tickDays: 30, candleDays: 60 },
    });
  a = await open();
  b = await open();
  admin = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await admin?.end();
  await a?.close();
  await b?.close();
  await db?.drop();
});

describe('history maintenance', () => {
  it(
    'when two providers run it at once, then the partitions ' + 'for today and the next two days are made once',
    async () => {
      const [ra, rb] = await Promise.all([a.maintenance.runOnce(now), b.maintenance.runOnce(now)]);
      expect(ra.created + rb.created).toBe(3);
      expect(await partitions()).toEqual(['ticks_20241001', 'ticks_20241002', 'ticks_20241003']);
    },
  );

  it('when a tick falls on a day without a partition (late or far ahead), then the writer makes it', async () => {
    const { inserted } = await a.writer.write([
      tick('2024-08-01T10:00:00.000Z'),
      tick('2024-08-31T10:00:00.000Z'),
      tick('2025-01-01T00:00:00.000Z'),
      tick('2024-10-01T11:00:00.000Z'),
    ]);
    expect(inserted).toHaveLength(4);
    expect(await partitions()).toEqual([
      'ticks_20240801',
      'ticks_20240831',
      'ticks_20241001',
      'ticks_20241002',
      'ticks_20241003',
      'ticks_20250101',
    ]);
  });

  it(
    'when ticks are older than TICK_RETENTION, then their whole days are dropped and their candles stay until ' +
      'CANDLE_RETENTION',
    async () => {
      const report = await b.maintenance.runOnce(now);
      // 2024-08-31 ended 30 days and 12 hours before: gone, and 2024-08-01 too. The candles of 2024-08-01 (1 m, 1 h, 1
      // d)
      // ended more than 60 days before: gone; those of 2024-08-31 stay.
      expect(report.dropped).toEqual(['ticks_20240801', 'ticks_20240831']);
      expect(await partitions()).toEqual(['ticks_20241001', 'ticks_20241002', 'ticks_20241003', 'ticks_20250101']);
      expect(report.candlesDeleted).toBe(3);
      expect(await count('ticks')).toBe(2);
      const lastOfAugust = await a.history.candles(
        'AAPL',
        86_400,
        new Date('2024-08-31T00:00:00.000Z'),
        new Date('2024-09-01T00:00:00.000Z'),
      );
      expect(lastOfAugust).toEqual([
        {
          start: new Date('2024-08-31T00:00:00.000Z'),
          open: 100,
          high: 100,
          low: 100,
          close: 100,
          volume: 1,
          ticks: 1,
        },
      ]);
      expect(await count('candles', `start < '2024-08-02'`)).toBe(0);
    },
  );

  it(
    'when another provider dropped a day this one still knew, then a late tick for that day is stored (the day ' +
      'is made again)',
    async () => {
      // Provider a made 2024-08-31 in the earlier test and still knows it; b's retention dropped it.
      const { inserted } = await a.writer.write([tick('2024-08-31T11:00:00.000Z', 101)]);
      expect(inserted.map((t) => t.price)).toEqual([101]);
      expect(await partitions()).toContain('ticks_20240831');
      // It goes with the next run, as any tick past the retention does.
      expect((await b.maintenance.runOnce(new Date(now.getTime() + DAY))).dropped).toEqual(['ticks_20240831']);
    },
  );
});
