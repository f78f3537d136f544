import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

const BUDGET_BYTES = 4 * 1024 * 1024;
const CALLS = 1500;
const PAD_BYTES = 100_000;

// Scenario: the broker is away while a client floods ingestion's gRPC endpoint with far more than the raw store's
// byte budget (150 MB offered, 4 MiB allowed).
describe('the outbox full while RabbitMQ is away', () => {
  let stack: Stack;

  beforeAll(async () => {
    // The per-client call rate limit is lifted here: this scenario is about the byte budget, and on a quiet machine
    // the flood passes 50 calls a second (the rate limit has its own test, ingestion/test/grpc-peer-limits.test.ts).
    stack = await Stack.start({
      providers: 1,
      ingestionEnv: { RAW_STORE_MAX_BYTES: String(BUDGET_BYTES), GRPC_RATE_LIMIT_MAX: '100000' },
    });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when a gRPC flood passes the budget, then calls are refused with RESOURCE_EXHAUSTED and a retry hint, RSS ' +
    'stays bounded, and every accepted tick is stored once after the broker is back', async () => {
    for (let i = 0; i < 2; i++) await stack.connectClient();
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(200, 'load to flow');
    await stack.feeder.stop();

    await stack.amqpProxy.cut();
    await waitFor(
      async () => (await stack.ingestion.status('/ready')) === 503,
      10_000,
      'ingestion to report the bus down',
    );
    const rssBefore = stack.ingestion.rss();
    let accepted = 0;
    const refusals: { code: number; details: string; pushbackMs: string | undefined }[] = [];
    let next = 0;
    let peakRss = rssBefore;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < CALLS) {
          next++;
          const outcome = await stack.feeder.offer(10, PAD_BYTES);
          if (outcome.accepted) accepted++;
          else refusals.push(outcome);
          peakRss = Math.max(peakRss, stack.ingestion.rss());
        }
      }),
    );
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(BUDGET_BYTES / PAD_BYTES);
    expect(refusals.length).toBe(CALLS - accepted);
    expect(new Set(refusals.map((r) => r.code))).toEqual(new Set([grpc.status.RESOURCE_EXHAUSTED]));
    expect(refusals[0]!.details).toMatch(/raw store is full/);
    expect(Number(refusals[0]!.pushbackMs)).toBeGreaterThan(0);
    // 150 MB were offered; what is kept is bounded by the 4 MiB budget.
    expect(peakRss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    const ready = await request(`${stack.ingestion.adminUrl}/ready`);
    expect(ready.statusCode).toBe(503);
    expect(JSON.stringify(await ready.body.json())).toMatch(/raw_store.*full/);

    await stack.amqpProxy.restore();
    await waitFor(
      async () => (await stack.ingestion.status('/ready')) === 200,
      30_000,
      'ingestion to publish its outbox and accept again',
    );
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(stack.feeder.accepted.size + 200, 'load after the outage');
    await stack.feeder.stop();

    await expectAcceptedStoredAndSeen(stack, stack.clients);
    expect(stack.all.every((p) => p.alive)).toBe(true);
  }, 180_000);
});
