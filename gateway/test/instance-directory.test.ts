import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { waitFor } from '@lizards/testkit';
import type { WatchResult } from '@lizards/lib';
import { InstanceDirectory, type RegistrySource } from '../src/upstreams/instance-directory.js';

/** A registry that answers the first query at once and holds every later (blocking) one until it is aborted. */
class HoldingRegistry implements RegistrySource {
  readonly held: AbortSignal[] = [];
  private answered = false;

  watch(_serviceId: string, index: number, _waitMs: number, signal?: AbortSignal): Promise<WatchResult> {
    if (!this.answered) {
      this.answered = true;
      return Promise.resolve({ index: index + 1, instances: [] });
    }
    this.held.push(signal!);
    return new Promise((_resolve, reject) =>
      signal!.addEventListener('abort', () => reject(signal!.reason), { once: true }),
    );
  }
}

describe('InstanceDirectory', () => {
  it(
    'when it stops, then the blocking registry query in flight ' + 'is aborted, not left open until its wait ends',
    async () => {
      const registry = new HoldingRegistry();
      const directory = new InstanceDirectory({
        registry,
        services: ['provider'],
        watchWaitMs: 30_000,
        retryMs: 10,
        recoveryGraceMs: 0,
        log: Fastify({ logger: false }).log,
      });
      directory.start();
      await waitFor(() => registry.held.length === 1, 5000, 'a blocking query');
      expect(registry.held[0]!.aborted).toBe(false);
      directory.stop();
      expect(registry.held[0]!.aborted).toBe(true);
    },
  );
});
