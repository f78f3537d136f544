import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { FinnhubSource } from '../src/sources/finnhub-source.js';
import { HttpFetcher } from '../src/sources/http-fetcher.js';
import { SimulatedSource } from '../src/sources/simulated-source.js';
import { YahooSource } from '../src/sources/yahoo-source.js';
import { FixtureServer } from './support/fixture-server.js';
import { buildTestApp, metricValue } from './support/ingestion-harness.js';
import { waitFor } from '@lizards/testkit';

const fetcher = new HttpFetcher({ maxBodyBytes: 1_000_000 });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serve(server: FixtureServer): Promise<string> {
  const url = await server.start();
  cleanups.push(() => server.stop());
  return url;
}

async function start(app: FastifyInstance): Promise<FastifyInstance> {
  cleanups.push(() => app.close());
  await app.ready();
  return app;
}

const statusOf = (app: FastifyInstance, id: string) => app.ingestion.scheduler.status().find((s) => s.source === id)!;

describe('scheduler', () => {
  it(
    'when one source hangs past its timeout, then the other keeps polling, and the hung one fails and backs ' +
      'off exponentially',
    async () => {
      const server = new FixtureServer(() => ({ hang: true }));
      const url = await serve(server);
      const timeoutMs = 200;
      const base = 200;
      const app = await start(
        buildTestApp({
          sources: [
            new YahooSource({ baseUrl: url, intervalMs: 50, symbols: ['AAPL'], fetcher }),
            new SimulatedSource({ seed: 1, tickMs: 50, symbols: ['AAPL', 'MSFT'] }),
          ],
          poll: true,
          // a single fetch slot: the hung source holds it for at most the timeout each time
          settings: { fetchConcurrency: 1, fetchTimeoutMs: timeoutMs, backoffBaseMs: base, backoffMaxMs: 1600 },
        }).app,
      );

      // The scheduler's own record of when it plans the next attempt after the k-th consecutive failure.
      const plannedDelays = new Map<number, number>();
      await waitFor(
        () => {
          const s = statusOf(app, 'yahoo');
          const planned = Date.parse(s.next_poll_at ?? '') - Date.parse(s.last_error_at ?? '');
          if (s.consecutive_failures > 0 && planned >= 0 && !plannedDelays.has(s.consecutive_failures))
            plannedDelays.set(s.consecutive_failures, planned);
          return s.consecutive_failures >= 4 && plannedDelays.has(4);
        },
        15_000,
        'four failed polls of the hung source',
      );
      const yahoo = statusOf(app, 'yahoo');
      expect(yahoo.last_error).toMatch(/timed out after 200 ms/);
      expect(yahoo.last_success_at).toBeNull();
      const simulated = statusOf(app, 'simulated');
      expect(simulated.documents).toBeGreaterThanOrEqual(8);
      expect(simulated.consecutive_failures).toBe(0);
      expect(
        await metricValue(app, 'ingestion_fetches_total', { source: 'yahoo', outcome: 'timeout' }),
      ).toBeGreaterThanOrEqual(4);

      // Equal jitter: after the k-th failure the delay lies in [c/2, c], c = min(max, base * 2^(k-1)); the interval is
      // 50
      // ms.
      expect(plannedDelays.get(4)!).toBeGreaterThanOrEqual(800);
      if (plannedDelays.has(1)) expect(plannedDelays.get(1)!).toBeLessThan(400);
    },
  );

  it('when a source is rate limited, then it backs off, and one success resets it', async () => {
    const server = new FixtureServer(() => ({ status: 429, fixture: 'finnhub/rate-limit.json' }));
    const url = await serve(server);
    const app = await start(
      buildTestApp({
        sources: [new FinnhubSource({ baseUrl: url, intervalMs: 50, symbols: ['AAPL'], fetcher }, 'k')],
        poll: true,
        settings: { backoffBaseMs: 50, backoffMaxMs: 200 },
      }).app,
    );
    await waitFor(() => statusOf(app, 'finnhub').consecutive_failures >= 2, 10_000, 'two rate-limited polls');
    expect(statusOf(app, 'finnhub').last_error).toMatch(/^rate_limited: /);

    server.setRoute(() => ({ fixture: 'finnhub/quote-aapl.json' }));
    await waitFor(() => statusOf(app, 'finnhub').consecutive_failures === 0, 10_000, 'recovery');
    expect(statusOf(app, 'finnhub').last_success_at).not.toBeNull();
    expect(statusOf(app, 'finnhub').ticks_accepted).toBeGreaterThanOrEqual(1);
  });

  it('when a source cannot be reached, then the fetch counts as a network error and the service stays up', async () => {
    const app = await start(
      buildTestApp({
        sources: [new YahooSource({ baseUrl: 'http://127.0.0.1:1/', intervalMs: 60_000, symbols: ['AAPL'], fetcher })],
      }).app,
    );
    await app.ingestion.scheduler.pollNow('yahoo');
    expect(statusOf(app, 'yahoo')).toMatchObject({ failures: 1, consecutive_failures: 1, documents: 0 });
    expect(await metricValue(app, 'ingestion_fetches_total', { source: 'yahoo', outcome: 'network_error' })).toBe(1);
    expect((await app.inject({ method: 'GET', url: '/sources' })).statusCode).toBe(200);
  });
});
