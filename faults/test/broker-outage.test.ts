import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { PriceClient } from './support/price-client.js';
import { SYMBOLS, Stack } from './support/stack.js';
import { waitFor } from '@lizards/testkit';

async function status(url: string): Promise<number> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
}

// Scenario 2: every RabbitMQ connection (ingestion's, the provider's worker and hub) dropped while ticks flow.
describe('RabbitMQ connections cut during ingestion', () => {
  let stack: Stack;
  const clients: PriceClient[] = [];

  beforeAll(async () => {
    stack = await Stack.start({ providers: 1 });
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.close();
  });

  it('when the broker is away for a while, then ingestion keeps accepting into its outbox, republishes after, worker and hub reconnect, and nothing is lost or doubled', async () => {
    for (let i = 0; i < 2; i++) {
      const c = new PriceClient(stack.gateway.url, SYMBOLS);
      await c.connect();
      clients.push(c);
    }
    stack.feeder.start(10, 40);
    await waitFor(() => stack.feeder.accepted.size >= 200, 30_000, 'load to flow');

    await stack.amqpProxy.cut();
    await waitFor(async () => (await status(`${stack.ingestion.url}/ready`)) === 503, 10_000, 'ingestion to report the bus down');
    const acceptedAtCut = stack.feeder.accepted.size;
    await waitFor(() => stack.feeder.accepted.size >= acceptedAtCut + 100, 30_000, 'ticks accepted while the broker is away');
    await stack.amqpProxy.restore();

    await waitFor(async () => (await status(`${stack.ingestion.url}/ready`)) === 200, 30_000, 'ingestion to reconnect');
    await waitFor(async () => (await status(`${stack.providers[0]!.url}/ready`)) === 200, 30_000, 'the provider to reconnect');
    const acceptedAtRestore = stack.feeder.accepted.size;
    await waitFor(() => stack.feeder.accepted.size >= acceptedAtRestore + 200, 30_000, 'load after the outage');
    await stack.feeder.stop();

    await expectAcceptedStoredAndSeen(stack, clients);
    expect(stack.all.every((p) => p.alive)).toBe(true);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 150_000);
});
