import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@lizards/testkit';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import type { NewTick } from '../src/ticks/tick-schema.js';
import { createTestSchema } from './support/backends.js';

const t0 = Date.parse('2024-09-14T12:00:00.000Z');
const tick = (symbol: string, i: number): NewTick => ({
  symbol,
  price: 100 + i,
  timestamp: new Date(t0 + i),
  source: 'simulated',
  volume: 1,
  publishedAt: null,
});

describe('PostgresTickWriter with two writers at once', () => {
  let db: Awaited<ReturnType<typeof createTestSchema>>;
  let store: PriceStore;
  let admin: postgres.Sql;

  beforeAll(async () => {
    db = await createTestSchema();
    store = await openPostgresPriceStore({ url: db.url, schema: db.schema, writePoolSize: 2 });
    admin = postgres(db.url, { max: 2, onnotice: () => {}, connection: { search_path: db.schema } });
  });
  afterAll(async () => {
    await store?.close();
    await admin?.end();
    await db?.drop();
  });

  const lastSeq = async () => (await admin`SELECT last_value::text AS v FROM ticks_seq_seq`)[0]!.v as string;
  const waiting = async (locktype: string) =>
    Number((await admin`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = ${locktype}`)[0]!.n);

  it(
    'when one writer holds the tick lock, then the other takes no seq and no symbols row ' + 'until it commits',
    async () => {
      await store.writer.write([tick('HOLD', 0), tick('NEXT', 0)]);
      // The first writer takes the tick lock and then waits for the symbols row held here.
      let release!: () => void;
      let rowLocked!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const locked = new Promise<void>((resolve) => (rowLocked = resolve));
      const holder = admin.begin(async (tx) => {
        await tx`SELECT 1 FROM symbols WHERE symbol = 'HOLD' FOR UPDATE`;
        rowLocked();
        await held;
      });
      await locked;
      const first = store.writer.write([tick('HOLD', 1), tick('HOLD', 2)]);
      await waitFor(
        async () => (await waiting('transactionid')) === 1,
        10_000,
        'the first writer waiting for the symbols row',
      );
      const seqAfterFirst = await lastSeq();
      const second = store.writer.write([tick('NEXT', 1), tick('NEXT', 2)]);
      await waitFor(
        async () => (await waiting('advisory')) === 1,
        10_000,
        'the second writer waiting for the tick lock',
      );
      expect(await lastSeq()).toBe(seqAfterFirst);
      expect(await waiting('transactionid')).toBe(1);
      release();
      await holder;
      const [a, b] = await Promise.all([first, second]);
      const seqs = [...a.inserted, ...b.inserted].map((t) => BigInt(t.seq));
      expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
      expect(seqs).toHaveLength(4);
    },
  );
});
