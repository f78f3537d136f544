import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { waitFor } from '@lizards/testkit';
import type { RegistryWatchSource, WatchResult } from '@lizards/lib';
import { RegistryShard } from '../src/scheduler/shard-membership.js';

/** A registry that answers the first query at once and holds every later (blocking) one until it is aborted. */
class HoldingRegistry implements RegistryWatchSource {
  readonly held: (AbortSignal | undefined)[] = [];
  private answered = false;

  watch(_serviceId: string, index: number, _waitMs: number, signal?: AbortSignal): Promise<WatchResult> {
    if (!this.answered) {
      this.answered = true;
      return Promise.resolve({ index: index + 1, instances: [] });
    }
    this.held.push(signal);
    return new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }
}

describe('RegistryShard', () => {
  it('when it stops, then the blocking registry query in flight is aborted, not left open for its wait', async () => {
    const registry = new HoldingRegistry();
    const shard = new RegistryShard({
      client: registry,
      serviceId: 'ingestion',
      selfId: () => undefined,
      watchWaitMs: 30_000,
      retryMs: 10,
      log: Fastify({ logger: false }).log,
    });
    shard.start();
    await waitFor(() => registry.held.length === 1, 5000, 'a blocking query');
    expect(registry.held[0]?.aborted).toBe(false);
    shard.stop();
    expect(registry.held[0]?.aborted).toBe(true);
  });
});
