// History at scale: the provider's latest, history and candle routes over 1M and 30M stored ticks (60 symbols, 30 days,
// filled with generate_series in a schema of its own), with the unpartitioned store of migration 001 and its queries
// (before) and after migration 002 (day partitions, candle rollups) on the same rows, in the same run.
import { request } from 'undici';
import postgres from 'postgres';
import { migrate, readMigrations } from '@lizards/provider/store';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { dropSchema } from './harness/cleanup.js';
import { benchScript, serverScript } from './harness/paths.js';
import { ratioFigure, valueFigure, type Figure } from './harness/results.js';
import { ProcessGroup, backends, type ServiceProcess } from './harness/services.js';

const SYMBOLS = 60;
const SPAN_MS = 30 * 86_400_000;
const HOUR_MS = 3_600_000;

interface Query {
  name: string;
  path: (symbol: string, end: Date) => string;
}

const range = (end: Date, ms: number) => `from=${new Date(end.getTime() - ms).toISOString()}&to=${end.toISOString()}`;
const QUERIES: Query[] = [
  { name: 'latest', path: (s) => `/prices/${s}` },
  { name: 'history (1 h)', path: (s, end) => `/prices/${s}/history?${range(end, HOUR_MS)}` },
  { name: 'candles 1 d at 1 m', path: (s, end) => `/prices/${s}/candles?interval=1m&${range(end, 24 * HOUR_MS)}` },
  { name: 'candles 30 d at 1 h', path: (s, end) => `/prices/${s}/candles?interval=1h&${range(end, SPAN_MS)}` },
];

const symbolName = (i: number) => `S${String(i).padStart(2, '0')}`;
/** 1,000,020 (16,667 per symbol) reads as 1M. */
const rowsLabel = (n: number) => (n >= 1e6 ? `${Math.round(n / 1e6)}M` : `${Math.round(n / 1e3)}k`);

interface Latencies {
  p50: number;
  p99: number;
  samples: number;
}

export const historyScale: Bench = async ({ quick, run }) => {
  const sizes = quick ? [6_000, 30_000] : [1_000_020, 30_000_000];
  const budget = quick ? { samples: 10, seconds: 1 } : { samples: 200, seconds: 40 };
  const checks: string[] = [];
  const figures: Figure[] = [];
  const after = new Map<string, Latencies>();
  const before = new Map<string, Latencies>();
  const migrationSeconds: number[] = [];
  for (const rows of sizes) {
    const schema = `lz_bench_hs_${run}_${rowsLabel(rows).toLowerCase()}`;
    const sql = postgres(backends.databaseUrl, {
      max: 1,
      onnotice: () => undefined,
      connection: { search_path: schema },
    });
    const group = new ProcessGroup();
    try {
      const end = await fillUnpartitioned(sql, schema, rows);
      checks.push(`${rowsLabel(rows)}: ${rows} ticks of ${SYMBOLS} symbols over 30 days filled and counted back`);
      const old = await group.start({
        name: 'provider (unpartitioned)',
        script: benchScript('servers/unpartitioned-provider.js'),
        env: providerEnv(schema),
        readyPath: '/ready',
      });
      const answers = new Map<string, string>();
      for (const q of QUERIES) before.set(`${rows} ${q.name}`, await measure(old, q, end, budget, answers));
      await group.stopAll();

      const started = Date.now();
      await sql`SET work_mem = '256MB'`;
      await migrate(sql, schema);
      migrationSeconds.push((Date.now() - started) / 1000);
      await sql`VACUUM ANALYZE ticks`;
      await sql`VACUUM ANALYZE candles`;
      const [{ n }] = (await sql`SELECT count(*)::int AS n FROM ticks`) as unknown as [{ n: number }];
      if (n !== rows) throw new Error(`${n} rows after the migration, ${rows} before`);
      checks.push(`${rowsLabel(rows)}: migration 002 kept all ${rows} rows`);
      const provider = await group.start({
        name: 'provider',
        script: serverScript('provider'),
        env: providerEnv(schema),
        readyPath: '/ready',
      });
      for (const q of QUERIES) after.set(`${rows} ${q.name}`, await measure(provider, q, end, budget, answers));
      checks.push(
        `${rowsLabel(rows)}: every request 200; ` +
          "for every query and symbol the partitioned store's body equals the unpartitioned one's",
      );
    } finally {
      await group.stopAll();
      await sql.end();
      await dropSchema(schema);
    }
  }
  const [small, large] = sizes as [number, number];
  for (const rows of sizes) {
    for (const q of QUERIES) {
      const a = after.get(`${rows} ${q.name}`)!;
      const b = before.get(`${rows} ${q.name}`)!;
      figures.push(
        ratioFigure(`${rowsLabel(rows)} rows: ${q.name} p50`, a.p50, 'ms', { name: 'unpartitioned', value: b.p50 }),
      );
      figures.push(
        ratioFigure(`${rowsLabel(rows)} rows: ${q.name} p99`, a.p99, 'ms', { name: 'unpartitioned', value: b.p99 }),
      );
    }
    figures.push(valueFigure(`${rowsLabel(rows)} rows: migration 002`, migrationSeconds[sizes.indexOf(rows)]!, 's'));
  }
  const hourly = (m: Map<string, Latencies>, rows: number) => m.get(`${rows} candles 30 d at 1 h`)!.p50;
  figures.push(
    valueFigure(
      `${rowsLabel(large)} rows: candles 30 d at 1 h, unpartitioned p50 / partitioned p50`,
      hourly(before, large) / hourly(after, large),
      'x',
      { min: 30 },
    ),
  );
  figures.push(
    valueFigure(`${rowsLabel(large)} rows: candles 30 d at 1 h p50`, hourly(after, large), 'ms', { max: 20 }),
  );
  for (const q of QUERIES) {
    for (const stat of ['p50', 'p99'] as const) {
      const growth = after.get(`${large} ${q.name}`)![stat] / after.get(`${small} ${q.name}`)![stat];
      figures.push(
        valueFigure(`growth ${rowsLabel(small)} -> ${rowsLabel(large)} rows: ${q.name} ${stat}`, growth, 'x', {
          max: 1.5,
        }),
      );
    }
  }
  const samples = [...after.values(), ...before.values()].map((l) => l.samples);
  return {
    config: {
      sizes,
      symbols: SYMBOLS,
      spanDays: 30,
      samplesPerQuery: `${Math.min(...samples)}-${Math.max(...samples)}`,
      sequentialRequests: true,
    },
    figures,
    checks,
  };
};

function providerEnv(schema: string): Record<string, string> {
  return {
    DATABASE_URL: backends.databaseUrl,
    DATABASE_SCHEMA: schema,
    WORKER_ENABLED: 'false',
    REGISTRY_URL: 'http://127.0.0.1:9',
    HEARTBEAT_INTERVAL_MS: '60000',
  };
}

/**
 * Fills the schema of migration 001 with `rows` ticks: per symbol, evenly spaced over the 30 days before now. The
 * indexes are dropped for the fill and made again from their own definitions (much faster than row by row).
 * Returns the end of the data (exclusive), the `to` of every query.
 */
async function fillUnpartitioned(sql: postgres.Sql, schema: string, rows: number): Promise<Date> {
  const [first] = await readMigrations();
  await migrate(sql, schema, [first!]);
  const end = new Date(Math.floor(Date.now() / 1000) * 1000);
  const perSymbol = rows / SYMBOLS;
  if (!Number.isInteger(perSymbol)) throw new Error(`${rows} rows do not divide among ${SYMBOLS} symbols`);
  const indexes = await sql<{ name: string; def: string; primary: boolean }[]>`
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisprimary AS primary
      FROM pg_index i WHERE i.indrelid = 'ticks'::regclass`;
  const primary = await sql<{ name: string; def: string }[]>`
    SELECT conname AS name, pg_get_constraintdef(oid) AS def
      FROM pg_constraint WHERE conrelid = 'ticks'::regclass AND contype = 'p'`;
  await sql`SET maintenance_work_mem = '512MB'`;
  for (const c of primary) await sql.unsafe(`ALTER TABLE ticks DROP CONSTRAINT "${c.name}"`);
  for (const i of indexes.filter((x) => !x.primary)) await sql.unsafe(`DROP INDEX ${i.name}`);
  await sql`
    INSERT INTO ticks (symbol, source, "timestamp", price, volume)
    SELECT 'S' || lpad(s::text, 2, '0'), 'bench',
           TIMESTAMPTZ 'epoch'
             + (${end.getTime() - SPAN_MS}::bigint + i * ${SPAN_MS}::bigint / ${perSymbol}::bigint)
             * INTERVAL '1 millisecond',
           100 + 10 * sin(i / 500.0 + s), i % 1000
      FROM generate_series(0, ${perSymbol - 1}) AS i, generate_series(0, ${SYMBOLS - 1}) AS s`;
  for (const c of primary) await sql.unsafe(`ALTER TABLE ticks ADD CONSTRAINT "${c.name}" ${c.def}`);
  for (const i of indexes.filter((x) => !x.primary)) await sql.unsafe(i.def);
  await sql`INSERT INTO symbols (symbol, first_seen_at, last_tick_at)
    SELECT symbol, min("timestamp"), max("timestamp") FROM ticks GROUP BY 1`;
  await sql`VACUUM ANALYZE ticks`;
  const [{ n }] = (await sql`SELECT count(*)::int AS n FROM ticks`) as unknown as [{ n: number }];
  if (n !== rows) throw new Error(`filled ${n} rows of ${rows} in ${schema}`);
  return end;
}

/**
 * Sequential requests (one at a time: latency, not throughput) over the symbols in turn, after one warm-up round,
 * until `samples` or `seconds` (at least 10 samples). The first body seen for each path is kept in `answers`; a later
 * body for the same path (the other store) must equal it.
 */
async function measure(
  server: ServiceProcess,
  q: Query,
  end: Date,
  budget: { samples: number; seconds: number },
  answers: Map<string, string>,
): Promise<Latencies> {
  const get = async (symbol: string) => {
    const path = q.path(symbol, end);
    const t = performance.now();
    const res = await request(`${server.url}${path}`);
    const body = await res.body.text();
    const ms = performance.now() - t;
    if (res.statusCode !== 200) throw new Error(`${server.name} ${path}: ${res.statusCode} ${body.slice(0, 200)}`);
    const seen = answers.get(path);
    if (seen === undefined) answers.set(path, body);
    else if (seen !== body) throw new Error(`${path}: ${server.name} answered differently from the other store`);
    return ms;
  };
  for (let s = 0; s < Math.min(SYMBOLS, 10); s++) await get(symbolName(s));
  const times: number[] = [];
  const deadline = Date.now() + budget.seconds * 1000;
  while (times.length < budget.samples && (times.length < 10 || Date.now() < deadline))
    times.push(await get(symbolName(times.length % SYMBOLS)));
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), samples: times.length };
}

if (isMain(import.meta.url)) await mainOf('history-scale', historyScale);
