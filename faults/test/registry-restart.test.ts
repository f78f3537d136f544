import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { SYMBOLS, Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

const HEARTBEAT_MS = 1000;
const SERVICES = ['gateway', 'provider', 'ingestion', 'ingestion-grpc'];

// Scenario 5: the registry killed and started again empty on the same port.
describe('registry restarted', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ providers: 2, heartbeatMs: HEARTBEAT_MS, leaseTtlMs: 5000 });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when the registry comes back empty, then every instance registers again within a heartbeat interval and ' +
    'the gateway routes all along', async () => {
    const before = Object.fromEntries(
      await Promise.all(SERVICES.map(async (s) => [s, (await stack.registered(s)).sort()] as const)),
    );
    expect(before.provider).toHaveLength(2);
    const client = await stack.connectClient();

    // Requests through the gateway the whole time (distinct queries, so none is served from the cache).
    const statuses: number[] = [];
    let routing = true;
    const load = (async () => {
      for (let i = 0; routing; i++) {
        const res = await request(`${stack.gateway.url}/prices/${SYMBOLS[i % SYMBOLS.length]}/history?limit=1&n=${i}`);
        await res.body.dump();
        statuses.push(res.statusCode);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    stack.feeder.start(10, 50);

    const port = stack.registry.port;
    stack.retired.push(stack.registry);
    await stack.registry.kill('SIGKILL');
    await waitFor(() => statuses.length >= 40, 30_000, 'requests while the registry is down');
    await stack.startRegistry(port);
    const upAt = Date.now();
    await waitFor(
      async () => {
        for (const s of SERVICES) if ((await stack.registered(s)).length !== before[s]!.length) return false;
        return true;
      },
      15_000,
      'every instance to register again',
      20,
    );
    const elapsed = Date.now() - upAt;
    // One heartbeat interval, plus slack for a loaded 2-core machine.
    expect(elapsed).toBeLessThan(HEARTBEAT_MS + 1500);
    for (const s of SERVICES) expect((await stack.registered(s)).sort()).toEqual(before[s]);

    const count = statuses.length;
    await waitFor(() => statuses.length >= count + 40, 30_000, 'requests after the restart');
    routing = false;
    await load;
    await stack.feeder.stop();
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    await expectAcceptedStoredAndSeen(stack, [client]);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 120_000);
});
