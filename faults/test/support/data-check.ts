import { expect } from 'vitest';
import type { PriceClient } from '../../src/price-client.js';
import type { Stack } from '../../src/stack.js';

/**
 * The check every scenario ends with: the ticks ingestion accepted are exactly the rows stored (none missing, none
 * twice), and every client received exactly the stored ticks it subscribed to after connecting, each once, no errors.
 * A tick shown provisionally (PostgreSQL down or behind) counts as received, and must have been confirmed stored since.
 */
export async function expectAcceptedStoredAndSeen(stack: Stack, clients: PriceClient[]): Promise<void> {
  const stored = await stack.waitUntilStored();
  expect(stack.feeder.failures).toEqual([]);
  expect(stored.length).toBe(new Set(stored).size);
  expect(new Set(stored)).toEqual(stack.feeder.accepted);
  for (const c of clients) {
    await c.waitForAll(stack.liveKeys(stored));
    expect(c.errors).toEqual([]);
    expect(c.ticks.length).toBe(new Set(c.ticks).size);
    expect(new Set(c.ticks)).toEqual(stack.liveKeys(stored));
    expect(c.unconfirmed()).toEqual([]);
  }
}
