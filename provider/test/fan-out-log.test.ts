import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FanOutLog, type FanOutClient } from '../src/hub/fan-out-log.js';
import { createHubMetrics } from '../src/hub/hub-metrics.js';
import type { CommittedTick } from '../src/hub/provisional-ticks.js';
import { SubscriptionIndex } from '../src/hub/subscription-index.js';
import { UpdateEncoder } from '../src/hub/update-encoder.js';

class RecordingClient implements FanOutClient {
  visits = 0;
  readonly got: string[] = [];
  constructor(readonly name: string) {}
  push(ticks: CommittedTick[]): void {
    this.visits++;
    for (const t of ticks) this.got.push(t.seq);
  }
}

const BASE = Date.parse('2024-09-14T12:00:00.000Z');
const tick = (seq: number, symbol: string): CommittedTick => ({
  symbol,
  price: 100 + seq,
  timestamp: new Date(BASE + seq * 1000),
  source: 'simulated',
  volume: null,
  seq: String(seq),
  publishedAt: null,
});

function fanOut() {
  const subscriptions = new SubscriptionIndex<RecordingClient>();
  const metrics = createHubMetrics(new Registry());
  const errors: unknown[] = [];
  const encoder = () => new UpdateEncoder(metrics);
  const log = new FanOutLog({ subscriptions, encoder, onError: (err) => errors.push(err) });
  return { subscriptions, log, errors };
}

describe('fan-out log', () => {
  it('when a slice holds one symbol, then the sweep visits only its 10 subscribers out of 1000 clients', async () => {
    const { subscriptions, log, errors } = fanOut();
    const clients = Array.from({ length: 1000 }, (_, i) => new RecordingClient(`c${i}`));
    clients.forEach((c, i) => {
      subscriptions.add(c, i % 100 === 0 ? 'AAPL' : 'MSFT');
    });
    log.append([tick(1, 'AAPL'), tick(2, 'AAPL')]);
    await log.drained();

    const visited = clients.filter((c) => c.visits > 0);
    expect(visited).toHaveLength(10);
    expect(clients.reduce((n, c) => n + c.visits, 0)).toBe(10);
    for (const c of visited) expect(c.got).toEqual(['1', '2']);
    expect(errors).toEqual([]);
  });

  it('when a client has several symbols in a slice, then it is visited once, with the whole slice', async () => {
    const { subscriptions, log } = fanOut();
    const both = new RecordingClient('both');
    const other = new RecordingClient('other');
    subscriptions.add(both, 'AAPL');
    subscriptions.add(both, 'MSFT');
    subscriptions.add(other, 'IBM');
    log.append([tick(1, 'AAPL'), tick(2, 'MSFT'), tick(3, 'AAPL')]);
    await log.drained();
    expect(both.visits).toBe(1);
    expect(both.got).toEqual(['1', '2', '3']);
    expect(other.visits).toBe(0);
  });

  it('when ticks arrive during a pass, then they go in the next slice, to each client once and in order', async () => {
    const { subscriptions, log } = fanOut();
    // Enough clients, and one slow enough, for the pass to yield to I/O part way.
    const clients = Array.from({ length: 2000 }, (_, i) => new RecordingClient(`c${i}`));
    for (const c of clients) subscriptions.add(c, 'AAPL');
    const first = clients[0]!;
    first.push = function (ticks) {
      RecordingClient.prototype.push.call(this, ticks);
      if (this.visits === 1) log.append([tick(2, 'AAPL'), tick(3, 'AAPL')]);
      const until = performance.now() + 3;
      while (performance.now() < until);
    };
    log.append([tick(1, 'AAPL')]);
    let visitedWhenIoRan = 0;
    const io = new Promise<void>((resolve) =>
      setImmediate(() => {
        visitedWhenIoRan = clients.filter((c) => c.visits > 0).length;
        log.append([tick(4, 'AAPL')]);
        resolve();
      }),
    );
    await io;
    await log.drained();
    expect(visitedWhenIoRan).toBeGreaterThan(0);
    expect(visitedWhenIoRan).toBeLessThan(clients.length);
    for (const c of clients) expect(c.got).toEqual(['1', '2', '3', '4']);
  });

  it('when a client unsubscribes, then later slices pass it by', async () => {
    const { subscriptions, log } = fanOut();
    const a = new RecordingClient('a');
    subscriptions.add(a, 'AAPL');
    log.append([tick(1, 'AAPL')]);
    await log.drained();
    subscriptions.remove(a, 'AAPL');
    log.append([tick(2, 'AAPL')]);
    await log.drained();
    expect(a.visits).toBe(1);
  });
});
