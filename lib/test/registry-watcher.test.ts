import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep, watchRegistry, type RegistryWatchSource, type WatchResult } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';

interface Query {
  index: number;
  waitMs: number;
}

/** A registry whose answers are scripted: each query takes the next step (an answer, or an error to throw). */
class ScriptedRegistry implements RegistryWatchSource {
  readonly queries: Query[] = [];

  constructor(private readonly steps: (WatchResult | Error)[]) {}

  watch(_serviceId: string, index: number, waitMs: number, signal?: AbortSignal): Promise<WatchResult> {
    this.queries.push({ index, waitMs });
    const step = this.steps.shift();
    if (step instanceof Error) return Promise.reject(step);
    if (step) return Promise.resolve(step);
    return new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }
}

interface Seen {
  failures?: number[];
  answers?: WatchResult[];
}

function watch(registry: ScriptedRegistry, aborter: AbortController, seen: Seen = {}) {
  return watchRegistry({
    source: registry,
    serviceId: 'svc',
    waitMs: 30_000,
    retryMs: 5,
    maxRetryMs: 20,
    signal: aborter.signal,
    onAnswer: (result) => seen.answers?.push(result),
    onFailure: (_err, inARow) => seen.failures?.push(inARow),
  });
}

describe('watchRegistry', () => {
  it('when the registry answers, then the first query answers at once and the next blocks from its index', async () => {
    const registry = new ScriptedRegistry([{ index: 4, instances: [] }]);
    const aborter = new AbortController();
    const answers: WatchResult[] = [];
    const loop = watch(registry, aborter, { answers });
    await waitFor(() => registry.queries.length === 2, 5000, 'the blocking query');
    expect(registry.queries).toEqual([
      { index: 0, waitMs: 0 },
      { index: 4, waitMs: 30_000 },
    ]);
    expect(answers).toEqual([{ index: 4, instances: [] }]);
    aborter.abort();
    await loop;
  });

  it('when queries fail, then each failure in a row counts and the next query asks from index 0 at once', async () => {
    const down = new Error('down');
    const registry = new ScriptedRegistry([{ index: 7, instances: [] }, down, down, { index: 2, instances: [] }]);
    const aborter = new AbortController();
    const failures: number[] = [];
    const loop = watch(registry, aborter, { failures });
    await waitFor(() => registry.queries.length === 5, 5000, 'the queries after the outage');
    const asked = registry.queries.map((q) => [q.index, q.waitMs]);
    expect(asked).toEqual([
      [0, 0],
      [7, 30_000],
      [0, 0],
      [0, 0],
      [2, 30_000],
    ]);
    expect(failures).toEqual([1, 2]);
    aborter.abort();
    await loop;
  });

  it('when it is aborted during the pause after a failure, then the loop ends without asking again', async () => {
    const registry = new ScriptedRegistry([new Error('down')]);
    const aborter = new AbortController();
    const loop = watchRegistry({
      source: registry,
      serviceId: 'svc',
      waitMs: 30_000,
      retryMs: 60_000,
      maxRetryMs: 60_000,
      signal: aborter.signal,
      onAnswer: () => {},
      onFailure: () => aborter.abort(),
    });
    await loop;
    expect(registry.queries).toHaveLength(1);
  });
});

describe('backoffDelay', () => {
  it('when failures repeat, then the ceiling doubles from base to maximum; the delay is at least half', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    const delays = (random: number) => [0, 1, 2, 3, 4, 40].map((attempt) => backoffDelay(attempt, opts, () => random));
    expect(delays(1)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(delays(0)).toEqual([50, 100, 200, 400, 500, 500]);
  });
});

describe('sleep', () => {
  it('when its signal aborts, then it resolves at once', async () => {
    const aborter = new AbortController();
    const started = performance.now();
    const slept = sleep(60_000, aborter.signal);
    aborter.abort();
    await slept;
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
