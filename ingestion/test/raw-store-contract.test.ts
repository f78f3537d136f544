import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EmbeddedRawStore } from '../src/raw-store/embedded-raw-store.js';
import { MongoRawStore } from '../src/raw-store/mongo-raw-store.js';
import type { NewRawDocument, RawStore } from '../src/raw-store/raw-store.js';
import type { Tick } from '../src/ticks/tick.js';
import { TEST_RAW_STORE_BYTES } from './support/ingestion-harness.js';

const MONGO_URL = process.env.MONGO_URL;
const run = randomUUID().slice(0, 8);
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface AdapterCase {
  name: string;
  skip: boolean;
  make: () => Promise<RawStore>;
  cleanup?: (store: RawStore) => Promise<void>;
}

const adapters: AdapterCase[] = [
  {
    name: 'embedded (in memory)',
    skip: false,
    make: async () => new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7 }),
  },
  {
    name: 'embedded (persisted to RAW_STORE_DIR)',
    skip: false,
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lz-raw-'));
      dirs.push(dir);
      return new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir });
    },
  },
  {
    name: 'mongodb',
    skip: !MONGO_URL,
    make: async () =>
      new MongoRawStore({
        url: MONGO_URL!,
        dbName: `lz_${run}`,
        retentionDays: 7,
        collection: `raw_${randomUUID().slice(0, 8)}`,
      }),
    cleanup: async (store) => (store as MongoRawStore).drop(),
  },
];

if (!MONGO_URL) {
  // Visible in the run's output, next to the skipped suite.
  console.warn(
    '[raw-store contract] MongoDB adapter skipped: MONGO_URL is not set (no MongoDB server here). Set ' +
      'MONGO_URL=mongodb://... to run it.',
  );
}

// Fetched within the last hour: well inside every adapter's retention.
let t = Date.now() - 3_600_000;
const doc = (over: Partial<NewRawDocument> = {}): NewRawDocument => ({
  source: 'stooq',
  url: 'https://stooq.com/q/l/?s=aapl.us',
  fetched_at: new Date((t += 1000)),
  status: 200,
  content_type: 'text/csv',
  body: 'Symbol,Date\nAAPL.US,2024-09-13',
  ...over,
});
const tick = (symbol: string): Tick => ({ symbol, price: 1.5, timestamp: '2024-09-13T20:00:00.000Z', source: 'stooq' });

describe.each(adapters)('raw store contract: $name', ({ name, skip, make, cleanup }) => {
  describe.skipIf(skip)(skip ? `${name} (skipped: MONGO_URL is not set)` : name, () => {
    let store: RawStore;
    const open = async (): Promise<RawStore> => {
      store = await make();
      await store.start();
      return store;
    };
    afterEach(async () => {
      await cleanup?.(store);
      await store?.close();
    });

    it('when a document is inserted, then it is kept raw and unprocessed, and not yet in the outbox', async () => {
      await open();
      const input = doc({ status: 429, body: 'Exceeded the daily hits limit' });
      const id = await store.insert(input);
      expect(await store.get(id)).toEqual({
        ...input,
        id,
        processed: false,
        ticks: [],
        rejections: [],
        problems: [],
        published: false,
      });
      expect(await store.outboxDepth()).toBe(0);
      expect(await store.ping()).toBe(true);
      expect(store.full).toBe(false);
    });

    it(
      'when an outcome with ticks is recorded, then the document ' + 'waits in the outbox until marked published',
      async () => {
        await open();
        const id = await store.insert(doc());
        await store.recordOutcome(id, {
          ticks: [tick('AAPL')],
          rejections: [{ index: 1, reason: 'invalid_price', message: 'price: must be > 0', symbol: 'XOM' }],
          problems: [{ reason: 'unknown_symbol', message: 'no data', symbol: 'QQQQ' }],
        });
        expect(await store.outboxDepth()).toBe(1);
        const [pending] = await store.unpublished(10);
        expect(pending).toMatchObject({ id, processed: true, published: false, ticks: [tick('AAPL')] });
        expect(pending!.rejections[0]).toMatchObject({ reason: 'invalid_price', symbol: 'XOM' });
        const at = new Date('2024-09-13T20:00:05Z');
        await store.markPublished([id], at);
        expect(await store.outboxDepth()).toBe(0);
        expect(await store.unpublished(10)).toEqual([]);
        expect(await store.get(id)).toMatchObject({ published: true, published_at: at });
      },
    );

    it('when an outcome has no ticks, then the document is published at once (nothing to send)', async () => {
      await open();
      const id = await store.insert(doc());
      await store.recordOutcome(id, {
        ticks: [],
        rejections: [],
        problems: [{ reason: 'rate_limited', message: 'limit' }],
      });
      expect(await store.outboxDepth()).toBe(0);
      expect(await store.get(id)).toMatchObject({
        processed: true,
        published: true,
        problems: [{ reason: 'rate_limited' }],
      });
    });

    it(
      'when several documents await publishing, then unpublished() ' + 'gives them oldest first, up to the limit',
      async () => {
        await open();
        const ids: string[] = [];
        for (const s of ['A', 'B', 'C']) {
          const id = await store.insert(doc());
          await store.recordOutcome(id, { ticks: [tick(s)], rejections: [], problems: [] });
          ids.push(id);
        }
        expect((await store.unpublished(2)).map((d) => d.id)).toEqual(ids.slice(0, 2));
        await store.markPublished([ids[0]!], new Date());
        expect((await store.unpublished(10)).map((d) => d.id)).toEqual(ids.slice(1));
        expect(await store.outboxDepth()).toBe(2);
      },
    );

    it('when recent() is asked for a source, then it gives that source’s documents newest first', async () => {
      await open();
      const a = await store.insert(doc({ source: 'yahoo' }));
      await store.insert(doc({ source: 'finnhub' }));
      const c = await store.insert(doc({ source: 'yahoo' }));
      expect((await store.recent({ source: 'yahoo', limit: 10 })).map((d) => d.id)).toEqual([c, a]);
      expect(await store.recent({ limit: 1 })).toHaveLength(1);
    });

    it(
      'when documents were never processed, then unprocessed() gives those fetched before the cut-off, oldest ' +
        'first',
      async () => {
        await open();
        const old = await store.insert(doc({ symbols: ['AAPL'] }));
        const done = await store.insert(doc());
        await store.recordOutcome(done, { ticks: [], rejections: [], problems: [] });
        const cutoff = new Date(t + 500);
        await store.insert(doc());
        const found = await store.unprocessed(10, cutoff);
        expect(found.map((d) => d.id)).toEqual([old]);
        expect(found[0]!.symbols).toEqual(['AAPL']);
      },
    );

    it('when the same outcome is recorded twice, then the first one stands', async () => {
      await open();
      const id = await store.insert(doc());
      await store.recordOutcome(id, { ticks: [tick('AAPL')], rejections: [], problems: [] });
      await store.recordOutcome(id, { ticks: [], rejections: [], problems: [] });
      expect(await store.get(id)).toMatchObject({ ticks: [tick('AAPL')], published: false });
    });
  });
});

describe('embedded raw store specifics', () => {
  // About 10 KB each: a budget of 100,000 bytes holds nine.
  const big = () => doc({ body: 'x'.repeat(10_000) });
  const unpublishedDocument = async (store: EmbeddedRawStore): Promise<string> => {
    const id = await store.insert(big());
    await store.recordOutcome(id, { ticks: [tick('AAPL')], rejections: [], problems: [] });
    return id;
  };

  it(
    'when it is over its byte budget, then the oldest published documents are evicted and every unpublished ' +
      'one is kept',
    async () => {
      const store = new EmbeddedRawStore({ maxBytes: 100_000, retentionDays: 7 });
      const pending: string[] = [];
      for (let i = 0; i < 5; i++) pending.push(await unpublishedDocument(store));
      for (let i = 0; i < 20; i++) {
        const id = await store.insert(big());
        await store.recordOutcome(id, { ticks: [], rejections: [], problems: [] });
      }
      const held = await store.recent({ limit: 100 });
      expect(held.length).toBeLessThanOrEqual(9);
      expect(held.length).toBeGreaterThan(5);
      expect((await store.unpublished(100)).map((d) => d.id)).toEqual(pending);
      expect(store.full).toBe(false);
    },
  );

  it(
    'when unpublished documents fill the budget, then a new document is refused with ' +
      'LZ_ERR_INGESTION_RAW_STORE_FULL, none is dropped, and publishing makes room again',
    async () => {
      const store = new EmbeddedRawStore({ maxBytes: 100_000, retentionDays: 7 });
      const pending: string[] = [];
      for (;;) {
        const id = await unpublishedDocument(store).catch((err: unknown) => err);
        if (typeof id !== 'string') {
          expect(id).toMatchObject({ code: 'LZ_ERR_INGESTION_RAW_STORE_FULL', statusCode: 503 });
          break;
        }
        pending.push(id);
      }
      expect(pending.length).toBe(9);
      expect(store.full).toBe(true);
      await expect(store.insert(big())).rejects.toMatchObject({ code: 'LZ_ERR_INGESTION_RAW_STORE_FULL' });
      expect((await store.unpublished(100)).map((d) => d.id)).toEqual(pending);

      await store.markPublished(pending.slice(0, 2), new Date());
      expect(store.full).toBe(false);
      const next = await unpublishedDocument(store);
      expect((await store.unpublished(100)).map((d) => d.id)).toEqual([...pending.slice(2), next]);
    },
  );

  it('when a document alone is larger than the budget, then it is refused but the store is not full', async () => {
    const store = new EmbeddedRawStore({ maxBytes: 5_000, retentionDays: 7 });
    await expect(store.insert(big())).rejects.toMatchObject({ code: 'LZ_ERR_INGESTION_RAW_STORE_FULL' });
    expect(store.full).toBe(false);
    await store.insert(doc());
  });

  it(
    'when documents are older than the retention, then published ' + 'ones are dropped and unpublished ones kept',
    async () => {
      const now = Date.parse('2024-09-20T00:00:00Z');
      const store = new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 1, now: () => now });
      const old = { fetched_at: new Date(now - 2 * 86_400_000) };
      const expired = await store.insert(doc(old));
      await store.recordOutcome(expired, { ticks: [], rejections: [], problems: [] });
      const waiting = await store.insert(doc(old));
      await store.recordOutcome(waiting, { ticks: [tick('AAPL')], rejections: [], problems: [] });
      const fresh = await store.insert(doc({ fetched_at: new Date(now - 1000) }));
      expect((await store.recent({ limit: 10 })).map((d) => d.id)).toEqual([fresh, waiting]);
      expect(await store.outboxDepth()).toBe(1);
    },
  );

  it(
    'when persisted and reopened, then documents and their ' + 'outbox state come back from the JSON-lines file',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lz-raw-'));
      dirs.push(dir);
      const first = new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir });
      await first.start();
      const published = await first.insert(doc());
      await first.recordOutcome(published, { ticks: [tick('MSFT')], rejections: [], problems: [] });
      await first.markPublished([published], new Date('2024-09-13T21:00:00Z'));
      const waiting = await first.insert(doc());
      await first.recordOutcome(waiting, { ticks: [tick('AAPL')], rejections: [], problems: [] });
      await first.close();
      expect(
        (await readFile(join(dir, 'raw-documents.jsonl'), 'utf8')).trim().split('\n').length,
      ).toBeGreaterThanOrEqual(2);

      const second = new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir });
      await second.start();
      expect(await second.outboxDepth()).toBe(1);
      expect((await second.unpublished(10)).map((d) => d.id)).toEqual([waiting]);
      expect(await second.get(published)).toMatchObject({
        published: true,
        published_at: new Date('2024-09-13T21:00:00Z'),
      });
      expect((await second.get(waiting))!.fetched_at).toBeInstanceOf(Date);
      await second.close();
    },
  );

  it(
    'when the change log grows far past the budget, then ' + 'it is compacted and still replays to the same state',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lz-raw-'));
      dirs.push(dir);
      const budget = 10_000;
      const store = new EmbeddedRawStore({ maxBytes: budget, retentionDays: 7, dataDir: dir });
      await store.start();
      const writes: Promise<unknown>[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const id = await store.insert(doc());
        ids.push(id);
        // not awaited one by one: entries queue up behind a compaction
        writes.push(store.recordOutcome(id, { ticks: [tick('AAPL')], rejections: [], problems: [] }));
        if (i % 2 === 0) writes.push(store.markPublished([id], new Date()));
      }
      await Promise.all(writes);
      const expected = { depth: await store.outboxDepth(), pending: (await store.unpublished(100)).map((d) => d.id) };
      await store.close();
      // What is held (at most the budget) plus what was appended since the last rewrite (at most the budget and a
      // line).
      expect((await readFile(join(dir, 'raw-documents.jsonl'))).length).toBeLessThanOrEqual(2 * budget + 1000);

      const reopened = new EmbeddedRawStore({ maxBytes: budget, retentionDays: 7, dataDir: dir });
      await reopened.start();
      expect(await reopened.outboxDepth()).toBe(expected.depth);
      expect((await reopened.unpublished(100)).map((d) => d.id)).toEqual(expected.pending);
      expect(expected.pending.every((id) => ids.indexOf(id) % 2 === 1)).toBe(true);
      await reopened.close();
    },
  );

  it(
    'when reopened with a smaller budget than its unpublished documents, then none is dropped and it starts ' + 'full',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lz-raw-'));
      dirs.push(dir);
      const first = new EmbeddedRawStore({ maxBytes: 100_000, retentionDays: 7, dataDir: dir });
      await first.start();
      const pending = [
        await unpublishedDocument(first),
        await unpublishedDocument(first),
        await unpublishedDocument(first),
      ];
      await first.close();

      const smaller = new EmbeddedRawStore({ maxBytes: 20_000, retentionDays: 7, dataDir: dir });
      await smaller.start();
      expect((await smaller.unpublished(10)).map((d) => d.id)).toEqual(pending);
      expect(smaller.full).toBe(true);
      await expect(smaller.insert(doc())).rejects.toMatchObject({ code: 'LZ_ERR_INGESTION_RAW_STORE_FULL' });
      await smaller.close();
    },
  );
});

describe.skipIf(!MONGO_URL)(
  MONGO_URL ? 'MongoDB raw store retention' : 'MongoDB raw store retention (skipped: MONGO_URL is not set)',
  () => {
    const open = async (collection: string, retentionDays = 7): Promise<MongoRawStore> => {
      const store = new MongoRawStore({ url: MONGO_URL!, dbName: `lz_${run}`, retentionDays, collection });
      await store.start();
      return store;
    };
    const retentionIndex = async (collection: string) => {
      const { MongoClient } = await import('mongodb');
      const client = await MongoClient.connect(MONGO_URL!);
      try {
        return (await client.db(`lz_${run}`).collection(collection).indexes()).find((i) => i.name === 'retention_ttl');
      } finally {
        await client.close();
      }
    };

    it('when it starts, then its TTL index expires published documents only', async () => {
      const collection = `raw_${randomUUID().slice(0, 8)}`;
      const store = await open(collection);
      try {
        expect(await retentionIndex(collection)).toMatchObject({
          key: { fetched_at: 1 },
          expireAfterSeconds: 7 * 86_400,
          partialFilterExpression: { published: true },
        });
      } finally {
        await store.drop();
        await store.close();
      }
    });

    it(
      'when a TTL index over every document exists from before, then it is replaced by the partial one, and a ' +
        'changed retention is updated in place',
      async () => {
        const collection = `raw_${randomUUID().slice(0, 8)}`;
        const { MongoClient } = await import('mongodb');
        const client = await MongoClient.connect(MONGO_URL!);
        await client
          .db(`lz_${run}`)
          .collection(collection)
          .createIndex({ fetched_at: 1 }, { name: 'retention_ttl', expireAfterSeconds: 86_400 });
        await client.close();
        const store = await open(collection, 7);
        await store.close();
        const reopened = await open(collection, 3);
        try {
          expect(await retentionIndex(collection)).toMatchObject({
            expireAfterSeconds: 3 * 86_400,
            partialFilterExpression: { published: true },
          });
        } finally {
          await reopened.drop();
          await reopened.close();
        }
      },
    );
  },
);
