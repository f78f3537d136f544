import { afterEach, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { MemoryBroker, type MessageBus } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';
import { LiveFeed } from '../src/hub/live-feed.js';
import type { PriceRepository } from '../src/store/price-repository.js';
import { toLiveTick, type StoredTick } from '../src/ticks/tick-schema.js';

const EXCHANGE = 'prices.live';

function tick(seq: number, symbol = 'AAPL'): StoredTick {
  return {
    symbol,
    price: 100 + seq / 100,
    timestamp: new Date(Date.UTC(2024, 8, 14, 12, 0, seq)),
    source: 'simulated',
    volume: seq,
    seq: String(seq),
    publishedAt: new Date(Date.UTC(2024, 8, 14, 12, 0, seq)),
  };
}

/** The committed rows, as the store would return them; counts the "seq > cursor" reads. */
class CommittedTicks implements Pick<PriceRepository, 'ticksAfter' | 'maxSeq'> {
  rows: StoredTick[] = [];
  reads = 0;

  async ticksAfter(opts: { after: string; upTo?: string; symbols?: string[]; limit: number }): Promise<StoredTick[]> {
    this.reads++;
    return this.rows.filter((t) => BigInt(t.seq) > BigInt(opts.after)).slice(0, opts.limit);
  }

  async maxSeq(): Promise<string> {
    return this.rows.length ? this.rows[this.rows.length - 1]!.seq : '0';
  }
}

let feed: LiveFeed | undefined;
let bus: MessageBus | undefined;
afterEach(async () => {
  await feed?.stop();
  await bus?.close();
});

async function startFeed(store: CommittedTicks, pollIntervalMs = 60_000) {
  bus = new MemoryBroker().connect();
  const got: StoredTick[] = [];
  feed = new LiveFeed({
    bus,
    repository: store as unknown as PriceRepository,
    liveExchange: EXCHANGE,
    queue: 'prices.live.test',
    pollIntervalMs,
    log: Fastify({ logger: false }).log,
    onTicks: (ticks) => got.push(...ticks),
  });
  await feed.start();
  const announce = (ticks: StoredTick[]) =>
    bus!.publish(EXCHANGE, '', Buffer.from(JSON.stringify({ ticks: ticks.map(toLiveTick) })));
  return { got, announce, seqs: () => got.map((t) => Number(t.seq)) };
}

describe('live feed announcements', () => {
  it(
    'when announcements continue the cursor, then their ticks ' + 'are passed on as they are, without a store read',
    async () => {
      const store = new CommittedTicks();
      store.rows = [tick(1), tick(2)];
      const { got, announce, seqs } = await startFeed(store);
      const later = [tick(3), tick(4, 'TSLA'), tick(5)];
      store.rows.push(...later);
      await announce(later.slice(0, 2));
      await announce(later.slice(2));
      await waitFor(() => got.length === 3, 5000, 'three ticks');
      expect(seqs()).toEqual([3, 4, 5]);
      expect(got[1]).toEqual(later[1]);
      expect(store.reads).toBe(0);
      expect(feed!.cursor).toBe('5');
    },
  );

  it(
    'when an announcement leaves a hole after the cursor, then the store is read and nothing is skipped or ' +
      'repeated',
    async () => {
      const store = new CommittedTicks();
      store.rows = [tick(1)];
      const { got, announce, seqs } = await startFeed(store);
      // seq 2 was used up by a duplicate insert; 3 is committed.
      store.rows.push(tick(3));
      await announce([tick(3)]);
      await waitFor(() => got.length === 1, 5000, 'tick 3');
      expect(store.reads).toBeGreaterThan(0);
      const reads = store.reads;
      store.rows.push(tick(4));
      await announce([tick(4)]);
      await waitFor(() => got.length === 2, 5000, 'tick 4');
      expect(seqs()).toEqual([3, 4]);
      expect(store.reads).toBe(reads);
    },
  );

  it('when two writers announce out of commit order, then the ticks still arrive once each, in seq order', async () => {
    const store = new CommittedTicks();
    const { got, announce, seqs } = await startFeed(store);
    store.rows = [tick(1), tick(2), tick(3), tick(4)];
    await announce([tick(3), tick(4)]);
    await announce([tick(1), tick(2)]);
    await waitFor(() => got.length === 4, 5000, 'four ticks');
    await new Promise((r) => setTimeout(r, 50));
    expect(seqs()).toEqual([1, 2, 3, 4]);
  });

  it('when an announcement does not carry whole ticks, then it is only a hint to read the store', async () => {
    const store = new CommittedTicks();
    const { got, seqs } = await startFeed(store);
    store.rows = [tick(1)];
    await bus!.publish(EXCHANGE, '', Buffer.from(JSON.stringify({ ticks: [{ seq: '1' }] })));
    await waitFor(() => got.length === 1, 5000, 'tick 1 from the store');
    expect(seqs()).toEqual([1]);
    expect(got[0]).toEqual(tick(1));
    expect(store.reads).toBeGreaterThan(0);
  });

  it(
    'when an announcement is lost, then the poll reads the ' + 'ticks, and a later announcement continues from there',
    async () => {
      const store = new CommittedTicks();
      const { got, announce, seqs } = await startFeed(store, 50);
      store.rows = [tick(1), tick(2)];
      await waitFor(() => got.length === 2, 5000, 'ticks from the poll');
      store.rows.push(tick(3));
      await announce([tick(2), tick(3)]);
      await waitFor(() => got.length === 3, 5000, 'tick 3');
      await new Promise((r) => setTimeout(r, 120));
      expect(seqs()).toEqual([1, 2, 3]);
    },
  );
});
