// Cache: a PostgreSQL-backed history query through the gateway, cache hit vs proxied miss vs the provider direct.
import { request } from 'undici';
import postgres from 'postgres';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { deleteRedisPrefix, dropSchema } from './harness/cleanup.js';
import { assertAllOk, measureThroughput } from './harness/http-load.js';
import { scrapeCounter } from './harness/metrics.js';
import { ratioFigure, valueFigure } from './harness/results.js';
import { ProcessGroup, backends } from './harness/services.js';
import { startGateway, startProvider, startRegistry, waitForOk } from './harness/stack.js';

const FROM = Date.parse('2024-01-01T00:00:00.000Z');
const ROWS = 100;

export const cacheBench: Bench = async ({ quick, run }) => {
  const durationS = quick ? 1 : 6;
  const connections = 32;
  const schema = `lz_bench_${run}`;
  const group = new ProcessGroup();
  try {
    const registry = await startRegistry(group);
    const provider = await startProvider(group, schema, { WORKER_ENABLED: 'false', REGISTRY_URL: registry.url });
    const sql = postgres(backends.databaseUrl, { max: 1, onnotice: () => undefined });
    try {
      const rows = Array.from({ length: ROWS }, (_, i) => ({
        symbol: 'AAPL',
        source: 'simulated',
        timestamp: new Date(FROM + i * 30_000),
        price: 150 + i / 100,
        volume: 100 + i,
      }));
      // Straight into the store, so into the day partitions the provider's writer would have made first.
      const days = [...new Set(rows.map((r) => r.timestamp.toISOString().slice(0, 10)))];
      await sql`SELECT ${sql(schema)}.ensure_tick_partition(day) FROM unnest(${days}::date[]) AS day`;
      await sql`INSERT INTO ${sql(schema)}.ticks ${sql(rows, 'symbol', 'source', 'timestamp', 'price', 'volume')}`;
      await sql`INSERT INTO ${sql(schema)}.symbols (symbol, last_tick_at)
        VALUES ('AAPL', ${new Date(FROM + ROWS * 30_000)})`;
    } finally {
      await sql.end();
    }
    const gateway = await startGateway(group, { registryUrl: registry.url, run, rateLimitStore: 'redis', cache: true });
    await waitForOk(`${gateway.url}/symbols`);

    const to = new Date(FROM + 3_600_000).toISOString();
    const path = `/prices/AAPL/history?from=${new Date(FROM).toISOString()}&to=${to}&limit=1000`;
    let unique = 0;
    // Each miss has its own key: `to` moves by 1 ms past the data, so the rows (and the work) stay the same.
    const missPath = () =>
      `/prices/AAPL/history?from=${new Date(FROM).toISOString()}` +
      `&to=${new Date(FROM + 3_600_000 + ++unique).toISOString()}&limit=1000`;

    const checks: string[] = [];
    const directBody = JSON.parse(await request(`${provider.url}${path}`).then((r) => r.body.text())) as {
      prices: unknown[];
    };
    if (directBody.prices.length !== ROWS)
      throw new Error(`provider returned ${directBody.prices.length} rows, expected ${ROWS}`);
    const first = await request(`${gateway.url}${path}`);
    const firstBody = JSON.parse(await first.body.text()) as { prices: unknown[] };
    const second = await request(`${gateway.url}${path}`);
    const secondBody = JSON.parse(await second.body.text()) as { prices: unknown[] };
    if (first.headers['x-cache'] !== 'MISS' || second.headers['x-cache'] !== 'HIT') {
      throw new Error(
        `expected MISS then HIT, got ${String(first.headers['x-cache'])} then ${String(second.headers['x-cache'])}`,
      );
    }
    if (
      JSON.stringify(firstBody.prices) !== JSON.stringify(directBody.prices) ||
      JSON.stringify(secondBody.prices) !== JSON.stringify(directBody.prices)
    ) {
      throw new Error('gateway history differs from the provider direct');
    }
    checks.push(`history of ${ROWS} stored rows: gateway MISS then HIT, both equal to the provider direct`);

    const lookups = async () => ({
      hit: await scrapeCounter(gateway, 'gateway_cache_lookups_total', { result: 'hit' }),
      miss: await scrapeCounter(gateway, 'gateway_cache_lookups_total', { result: 'miss' }),
      error: await scrapeCounter(gateway, 'gateway_cache_lookups_total', { result: 'error' }),
    });
    const load = async (label: string, url: string, p: string | (() => string), expect?: 'hit' | 'miss') => {
      await measureThroughput({ url, path: p, connections, durationS: quick ? 0.5 : 1 }); // warm-up
      const before = await lookups();
      const r = await measureThroughput({ url, path: p, connections, durationS });
      assertAllOk(label, r);
      const after = await lookups();
      let note = '';
      if (expect) {
        const hits = after.hit - before.hit;
        const misses = after.miss - before.miss;
        const errors = after.error - before.error;
        // Lookups, not requests: concurrent requests for one key share one store lookup (single-flight).
        // autocannon stops counting at its deadline with up to one request per connection in flight (warm-up and run).
        const ok =
          errors === 0 &&
          (expect === 'hit'
            ? misses === 0 && hits > 0
            : hits === 0 && misses >= r.requests && misses <= r.requests + 2 * connections);
        if (!ok)
          throw new Error(
            `${label}: ${r.requests} requests but ${hits} cache hits, ${misses} misses, ${errors} errors`,
          );
        note = `; cache lookups: ${hits} hits, ${misses} misses, 0 errors`;
      }
      checks.push(`${label}: ${r.requests} requests, all 2xx${note}`);
      return r;
    };
    const direct = await load('provider direct', provider.url, path);
    const miss = await load('gateway miss', gateway.url, missPath, 'miss');
    const hit = await load('gateway hit', gateway.url, path, 'hit');
    const directRps = { name: 'provider direct', value: direct.requestsPerSec };
    const figures = [
      ratioFigure('cache hit vs provider direct', hit.requestsPerSec, 'req/s', directRps, { min: 2 }),
      ratioFigure(
        'cache hit vs proxied miss',
        hit.requestsPerSec,
        'req/s',
        { name: 'gateway miss', value: miss.requestsPerSec },
        { min: 1.4 },
      ),
      ratioFigure('proxied miss vs provider direct', miss.requestsPerSec, 'req/s', directRps),
      valueFigure('p50 latency hit', hit.latencyP50Ms, 'ms'),
      valueFigure('p50 latency miss', miss.latencyP50Ms, 'ms'),
      valueFigure('p50 latency provider direct', direct.latencyP50Ms, 'ms'),
    ];
    return {
      config: {
        connections,
        durationS,
        rows: ROWS,
        query: path,
        cache: 'Redis',
        rateLimit: 'Redis, limit never reached',
      },
      figures,
      checks,
    };
  } finally {
    await group.stopAll();
    await dropSchema(schema);
    await deleteRedisPrefix(`lz:${run}:`);
  }
};

if (isMain(import.meta.url)) await mainOf('cache', cacheBench);
