import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedPriceStore } from '../src/store/embedded-price-store.js';
import { migrate, readMigrations } from '../src/store/migrate.js';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import type { NewTick } from '../src/ticks/tick-schema.js';
import { createTestSchema } from './support/backends.js';

const t0 = Date.parse('2024-09-14T12:00:00.000Z');
const tick = (symbol: string, i: number, price = 100 + i, source = 'simulated'): NewTick => ({
  symbol,
  price,
  timestamp: new Date(t0 + i * 20_000),
  source,
  volume: 10 * (i + 1),
  publishedAt: new Date(t0 + i * 20_000 + 5),
});

type Adapter = { name: string; open: () => Promise<{ store: PriceStore; cleanup: () => Promise<void> }> };

const adapters: Adapter[] = [
  {
    name: 'postgres',
    open: async () => {
      const db = await createTestSchema();
      const store = await openPostgresPriceStore({ url: db.url, schema: db.schema });
      return { store, cleanup: () => db.drop() };
    },
  },
  {
    name: 'pglite (embedded)',
    open: async () => ({ store: await openEmbeddedPriceStore({ schema: 'public' }), cleanup: async () => {} }),
  },
];

describe.each(adapters)('price store contract: $name', (adapter) => {
  let store: PriceStore;
  let cleanup: () => Promise<void>;

  // PGlite compiles its WebAssembly on open: slow on a loaded 2-core machine.
  beforeAll(async () => {
    ({ store, cleanup } = await adapter.open());
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });

  describe('TickWriter.write', () => {
    it('when a batch holds new ticks, then all are inserted with increasing seq', async () => {
      const { inserted } = await store.writer.write([tick('AAPL', 0), tick('AAPL', 1), tick('MSFT', 0, 400)]);
      expect(inserted).toHaveLength(3);
      const seqs = inserted.map((t) => BigInt(t.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
      expect(inserted[0]).toMatchObject({ symbol: 'AAPL', price: 100, source: 'simulated', volume: 10 });
    });

    it('when the same ticks are written again, then nothing is inserted', async () => {
      const { inserted } = await store.writer.write([tick('AAPL', 0), tick('AAPL', 1)]);
      expect(inserted).toEqual([]);
    });

    it('when a batch repeats a key and mixes old and new, then only the new rows come back', async () => {
      const { inserted } = await store.writer.write([tick('AAPL', 1), tick('AAPL', 2), tick('AAPL', 2)]);
      expect(inserted.map((t) => t.timestamp.getTime())).toEqual([t0 + 2 * 20_000]);
    });

    it('when the same time comes from another source, then it is a different tick', async () => {
      const { inserted } = await store.writer.write([tick('AAPL', 2, 999, 'stooq')]);
      expect(inserted).toHaveLength(1);
    });
  });

  describe('PriceRepository', () => {
    it('knows the symbols that were written', async () => {
      expect(await store.repository.knownSymbols(['AAPL', 'MSFT', 'NOPE'])).toEqual(new Set(['AAPL', 'MSFT']));
      expect(await store.history.knownSymbols(['AAPL', 'MSFT', 'NOPE'])).toEqual(new Set(['AAPL', 'MSFT']));
      expect((await store.history.listSymbols()).map((s) => s.symbol)).toEqual(['AAPL', 'MSFT']);
    });

    it('returns the latest tick per symbol', async () => {
      const latest = await store.repository.latest(['AAPL', 'MSFT', 'NOPE']);
      const bySymbol = Object.fromEntries(latest.map((t) => [t.symbol, t]));
      expect(Object.keys(bySymbol).sort()).toEqual(['AAPL', 'MSFT']);
      expect(bySymbol.AAPL!.timestamp.getTime()).toBe(t0 + 2 * 20_000);
      expect(bySymbol.AAPL!.source).toBe('stooq');
      expect(bySymbol.MSFT!.price).toBe(400);
    });

    it('returns ticks after a cursor in seq order, filtered and bounded', async () => {
      const all = await store.repository.ticksAfter({ after: '0', limit: 100 });
      expect(all).toHaveLength(5);
      expect(await store.repository.maxSeq()).toBe(all[4]!.seq);
      const afterFirst = await store.repository.ticksAfter({
        after: all[0]!.seq,
        upTo: all[3]!.seq,
        symbols: ['AAPL'],
        limit: 100,
      });
      expect(afterFirst.map((t) => t.seq)).toEqual([all[1]!.seq, all[3]!.seq]);
    });

    it('returns history in a time range, oldest first', async () => {
      const h = await store.history.history({
        symbol: 'AAPL',
        from: new Date(t0 + 1),
        to: new Date(t0 + 60_000),
        limit: 10,
      });
      expect(h.ticks.map((t) => t.price)).toEqual([101, 102, 999]);
      expect(h.next).toBeUndefined();
    });

    it('returns history in pages: each starts after the last tick of the one before', async () => {
      const range = { symbol: 'AAPL', from: new Date(t0), to: new Date(t0 + 60_000) };
      const first = await store.history.history({ ...range, limit: 2 });
      expect(first.ticks.map((t) => t.price)).toEqual([100, 101]);
      // The next two share a timestamp (the stooq tick): the cursor's seq tells them apart.
      const second = await store.history.history({ ...range, limit: 2, after: first.next! });
      expect(second.ticks.map((t) => t.price)).toEqual([102, 999]);
      expect(second.next).toBeUndefined();
      const threeFirst = await store.history.history({ ...range, limit: 3 });
      const afterSameInstant = await store.history.history({ ...range, limit: 10, after: threeFirst.next! });
      expect(afterSameInstant.ticks.map((t) => t.price)).toEqual([999]);
    });

    it('computes 1-minute candles in SQL', async () => {
      const candles = await store.history.candles('AAPL', 60, new Date(t0), new Date(t0 + 120_000));
      expect(candles).toEqual([
        { start: new Date(t0), open: 100, high: 999, low: 100, close: 999, volume: 10 + 20 + 30 + 30, ticks: 4 },
      ]);
    });

    it('reads through a read-only session', async () => {
      if (store.kind === 'pglite') return; // one embedded backend shared with the writer
      const repo = store.repository as unknown as { sql: postgres.Sql };
      await expect(repo.sql`INSERT INTO symbols (symbol, last_tick_at) VALUES ('RO', now())`).rejects.toMatchObject({
        code: '25006',
      });
    });
  });

  // Last: its symbols and times would change what the reads above expect.
  describe('TickWriter.write, values as they are', () => {
    it(
      'when text holds quotes, backslashes, commas, braces or NULL and numbers are extreme, ' +
        'then each is stored as it is',
      async () => {
        const at = new Date(t0 - 86_400_000);
        const ticks: NewTick[] = [
          { symbol: 'Q"U\\O,T{E}', source: 'NULL', timestamp: at, price: 1e-7, volume: null, publishedAt: null },
          {
            symbol: 'Q"U\\O,T{E}',
            source: ' a "b" \\c ',
            timestamp: at,
            price: 1.5e21,
            volume: 1e15,
            publishedAt: new Date(at),
          },
          {
            symbol: 'ÉTÉ',
            source: '',
            timestamp: new Date(at.getTime() + 1),
            price: 0.1 + 0.2,
            volume: 0,
            publishedAt: new Date(at),
          },
        ];
        const { inserted } = await store.writer.write(ticks);
        expect(inserted.map(({ seq: _seq, ...t }) => t)).toEqual(ticks);
        const stored = await store.history.history({
          symbol: 'Q"U\\O,T{E}',
          from: at,
          to: new Date(at.getTime() + 1),
          limit: 10,
        });
        expect(stored.ticks.map(({ seq: _seq, ...t }) => t)).toEqual(ticks.slice(0, 2));
      },
    );
  });
});

describe('migrations', () => {
  it('when two instances migrate the same schema at once, then each migration is applied once', async () => {
    const db = await createTestSchema();
    const a = postgres(db.url, { max: 1, onnotice: () => {}, connection: { search_path: db.schema } });
    const b = postgres(db.url, { max: 1, onnotice: () => {}, connection: { search_path: db.schema } });
    try {
      const [ra, rb] = await Promise.all([migrate(a, db.schema), migrate(b, db.schema)]);
      const all = (await readMigrations()).map((m) => m.version);
      expect([...ra, ...rb].sort()).toEqual(all);
      const rows = await a`SELECT version FROM schema_migrations ORDER BY version`;
      expect(rows.map((r) => r.version)).toEqual(all);
      expect(await migrate(a, db.schema)).toEqual([]);
    } finally {
      await Promise.all([a.end(), b.end()]);
      await db.drop();
    }
  });
});
