import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TcpProxy, waitFor } from '@lizards/testkit';
import { proxiedDatabase } from './support/backends.js';
import { type ProviderHarness, startProvider } from './support/provider-harness.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { makeTicks, publishTicks } from './support/ticks.js';

const READ_TIMEOUT_MS = 1000;
let testRun: TestRun;
let proxy: TcpProxy;
let provider: ProviderHarness;

const get = (path: string) =>
  // Well past the read bound, well short of the stall: without the bound the answer waits for the stall to end.
  fetch(`${provider.baseUrl}${path}`, { signal: AbortSignal.timeout(4 * READ_TIMEOUT_MS) });

beforeAll(async () => {
  testRun = await openTestRun();
  const proxied = await proxiedDatabase(testRun.db.url);
  proxy = proxied.proxy;
  provider = await startProvider({
    schema: testRun.db.schema,
    databaseUrl: proxied.url,
    topology: testRun.topology,
    readTimeoutMs: READ_TIMEOUT_MS,
  });
  await publishTicks(testRun.publisher, testRun.topology.pricesExchange, makeTicks('AAPL', 5));
  await waitFor(async () => (await get('/prices/AAPL')).status === 200, 15_000, 'stored');
});
afterAll(async () => {
  proxy?.flow();
  await provider?.close();
  await proxy?.stop();
  await testRun?.close();
});

describe('REST reads while PostgreSQL does not answer', () => {
  it('when the database connection stalls, then every prices route answers 503 with Retry-After within the read ' +
    'bound (not when the gateway gives up), and answers 200 again once it flows', async () => {
    proxy.stall();
    try {
      for (const path of ['/symbols', '/prices/AAPL', '/prices/AAPL/history', '/prices/AAPL/candles?interval=1m']) {
        const res = await get(path);
        const body = (await res.json()) as { code?: string };
        expect(res.status, path).toBe(503);
        expect(res.headers.get('retry-after'), path).not.toBeNull();
        expect(body.code, path).toBe('LZ_ERR_PROVIDER_STORE_UNAVAILABLE');
      }
    } finally {
      proxy.flow();
    }
    await waitFor(async () => (await get('/prices/AAPL/history')).status === 200, 15_000, 'reads again');
  }, 60_000);
});
