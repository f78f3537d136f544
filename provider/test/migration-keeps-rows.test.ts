import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { UNPARTITIONED_CANDLES_SQL, UNPARTITIONED_INSERT_SQL, UNPARTITIONED_SYMBOLS_SQL } from '@lizards/testkit';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../src/store/migrate.js';
import { createTestSchema } from './support/backends.js';

interface Server {
  url: string;
  schema: string;
  close(): Promise<void>;
}

const servers: { name: string; open: () => Promise<Server> }[] = [
  {
    name: 'postgres',
    open: async () => {
      const db = await createTestSchema();
      return { url: db.url, schema: db.schema, close: () => db.drop() };
    },
  },
  {
    name: 'pglite (embedded)',
    open: async () => {
      const db = await PGlite.create();
      const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
      await server.start();
      return {
        url: `postgres://postgres@${server.getServerConn()}/postgres`,
        schema: 'public',
        close: async () => {
          await server.stop();
          await db.close();
        },
      };
    },
  },
];

const t0 = Date.parse('2024-09-13T23:58:00.000Z');
/** Ticks over three UTC days (three partitions), two sources, some without volume, one published time. */
const oldTicks = Array.from({ length: 300 }, (_, i) => ({
  symbol: ['AAPL', 'MSFT', 'BRK.B'][i % 3]!,
  source: i % 7 === 0 ? 'stooq' : 'simulated',
  timestamp: new Date(t0 + i * 1_000_003).toISOString(),
  price: 100 + ((i * 37) % 101) / 7,
  volume: i % 5 === 0 ? null : String(i * 10),
  publishedAt: i % 2 === 0 ? new Date(t0 + i * 1_000_003 + 5).toISOString() : null,
}));

const insertArrays = (ticks: typeof oldTicks) => [
  ticks.map((t) => t.symbol),
  ticks.map((t) => t.source),
  ticks.map((t) => t.timestamp),
  ticks.map((t) => t.price),
  ticks.map((t) => t.volume),
  ticks.map((t) => t.publishedAt),
];

describe.each(servers)('migration 002 on $name', (server) => {
  let db: Server;
  let sql: postgres.Sql;

  beforeAll(async () => {
    db = await server.open();
    sql = postgres(db.url, { max: 1, onnotice: () => {}, connection: { search_path: db.schema } });
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await db?.close();
  });

  it(
    'when a database of the old schema holds ticks, then after the migration every row is there with its seq, ' +
      'and candles agree',
    async () => {
      const [first] = await readMigrations();
      expect(await migrate(sql, db.schema, [first!])).toEqual(['001']);
      // Written as the old writer wrote: batches (one repeated, as a redelivery), one rolled back (it uses up seq
      // values).
      for (let i = 0; i < oldTicks.length; i += 100) {
        const batch = oldTicks.slice(i, i + 100);
        await sql.begin((tx) => [
          tx.unsafe(UNPARTITIONED_INSERT_SQL, insertArrays(batch)),
          tx.unsafe(UNPARTITIONED_SYMBOLS_SQL, [
            [...new Set(batch.map((t) => t.symbol))],
            [...new Set(batch.map((t) => t.symbol))].map(() => batch.at(-1)!.timestamp),
          ]),
        ]);
      }
      await sql.unsafe(UNPARTITIONED_INSERT_SQL, insertArrays(oldTicks.slice(0, 100)));
      await sql
        .begin(async (tx) => {
          await tx.unsafe(
            UNPARTITIONED_INSERT_SQL,
            insertArrays([{ ...oldTicks[0]!, timestamp: '2024-09-20T00:00:00.000Z' }]),
          );
          throw new Error('roll back');
        })
        .catch(() => undefined);
      const rows = () =>
        sql`SELECT symbol, source, "timestamp", price, volume, published_at, stored_at, seq FROM ticks ORDER BY seq`;
      const before = await rows();
      const [{ last }] = (await sql`SELECT last_value::text AS last FROM ticks_seq_seq`) as unknown as [
        { last: string },
      ];
      const candlesOf = (symbol: string, seconds: number) =>
        sql.unsafe(UNPARTITIONED_CANDLES_SQL, [
          symbol,
          seconds,
          new Date(t0).toISOString(),
          '2024-09-18T00:00:00.000Z',
        ]);
      const candlesBefore = await Promise.all(
        ['AAPL', 'BRK.B'].flatMap((s) => [60, 3600, 86_400].map((w) => candlesOf(s, w))),
      );
      expect(before).toHaveLength(oldTicks.length);

      expect(await migrate(sql, db.schema)).toEqual(['002']);

      expect(await rows()).toEqual(before);
      const partitions = await sql`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'ticks'::regclass ORDER BY 1`;
      expect(partitions.map((p) => p.relname)).toEqual([
        'ticks_20240913',
        'ticks_20240914',
        'ticks_20240915',
        'ticks_20240916',
        'ticks_20240917',
      ]);
      // The rollups built from the moved rows answer as the old query did over them.
      const rollups =
        await sql`SELECT symbol, seconds, (open).price AS open, high, low, (close).price AS close, volume::text,
        ticks::text, start FROM candles
      WHERE symbol IN ('AAPL', 'BRK.B') ORDER BY symbol, seconds, start`;
      const fromRollups = ['AAPL', 'BRK.B'].flatMap((s) =>
        [60, 3600, 86_400].map((w) =>
          rollups
            .filter((r) => r.symbol === s && r.seconds === w)
            .map(({ start, open, high, low, close, volume, ticks }) => ({
              start,
              open,
              high,
              low,
              close,
              volume,
              ticks,
            })),
        ),
      );
      expect(fromRollups).toEqual(candlesBefore.map((c) => [...c]));
      // New ticks get seq values above every value the old sequence handed out (the rolled-back one included).
      const partition = await sql`SELECT ensure_tick_partition('2024-09-21')`;
      expect(partition).toHaveLength(1);
      const [added] = await sql.unsafe(
        UNPARTITIONED_INSERT_SQL,
        insertArrays([{ ...oldTicks[0]!, timestamp: '2024-09-21T00:00:00.000Z' }]),
      );
      expect(BigInt(added!.seq)).toBe(BigInt(last) + 1n);
    },
  );
});
