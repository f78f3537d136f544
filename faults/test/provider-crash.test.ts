import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { SYMBOLS, Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

// Scenarios 1 and 6: a provider killed with SIGKILL under load (no deregister, unacked deliveries in flight).
describe('a provider instance killed with SIGKILL under load', () => {
  let stack: Stack;
  let canary: net.Server | undefined;

  beforeAll(async () => {
    stack = await Stack.start({ providers: 2, heartbeatMs: 500, leaseTtlMs: 2000 });
  }, 90_000);

  afterAll(async () => {
    canary?.close();
    await stack?.close();
  });

  it('when it dies, then no accepted tick is lost or doubled in PostgreSQL, its WebSocket clients resume ' +
    'through the gateway without a gap, and it is evicted and never routed to again', async () => {
    // Clients on both providers (POST /session also takes a round-robin turn: an extra request shifts the rotation).
    for (let i = 0; i < 8; i++) {
      await stack.connectClient();
      const counts = await Promise.all(stack.providers.map((p) => p.metric('provider_ws_connections')));
      if (stack.clients.length >= 3 && counts.every((n) => n > 0)) break;
      await (await request(`${stack.gateway.url}/prices/AAPL/history?limit=1&shift=${i}`)).body.dump();
    }
    expect(await stack.providers[0]!.metric('provider_ws_connections')).toBeGreaterThan(0);
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(300, 'load to flow');
    const victim = stack.providers[0]!;
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    const evictedAt = waitFor(
      async () => !(await stack.registered('provider')).includes(victim.address),
      15_000,
      'the dead provider to be evicted',
      50,
    ).then(() => Date.now());
    await stack.feeder.acceptedAtLeast(900, 'load after the kill', 60_000);
    await stack.feeder.stop();

    // Data: the set accepted by ingestion is the set stored, once each.
    // Clients: the ones on the dead provider were cut and resumed; every client saw every stored tick exactly once.
    expect(stack.clients.some((c) => c.reconnects > 0)).toBe(true);
    await expectAcceptedStoredAndSeen(stack, stack.clients);

    // Scenario 6: evicted within the lease TTL (bounded generously: TTL + eviction sweep + a noisy machine).
    expect((await evictedAt) - killedAt).toBeLessThan(stack.leaseTtlMs + 3000);
    await stack.waitForGatewayInstances(1);

    // A listener on the dead instance's port counts any connection the gateway would still make to it.
    let connections = 0;
    canary = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => canary!.listen(victim.port, '127.0.0.1', resolve));
    for (let i = 0; i < 40; i++) {
      const res = await request(`${stack.gateway.url}/prices/${SYMBOLS[i % SYMBOLS.length]}/history?limit=1`);
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }
    await stack.connectClient();
    expect(connections).toBe(0);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 150_000);
});
