// Pipeline: ticks pushed into ingestion over gRPC (batches) until stored in PostgreSQL by the provider worker,
// vs the consumer a user would write (amqplib -> COPY) and bare amqplib publish->consume of the same messages;
// and batched upserts vs row-at-a-time inserts.
import { randomBytes } from 'node:crypto';
import { credentials, Metadata } from '@grpc/grpc-js';
import { loadDataProcessor, type ProcessingResponse } from '@lizards/proto';
import { tickMessages } from '@lizards/ingestion';
import { migrate } from '@lizards/provider/store';
import { connect, type ConfirmChannel } from 'amqplib';
import postgres from 'postgres';
import { request } from 'undici';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { dropSchema } from './harness/cleanup.js';
import { benchScript } from './harness/paths.js';
import { scrapeCounter } from './harness/metrics.js';
import { packagePeer, peerLabel } from './harness/peers.js';
import { ratioFigure, valueFigure, type Figure } from './harness/results.js';
import { ProcessGroup, backends, freePort, waitFor } from './harness/services.js';
import { busNames, startIngestion, startProvider } from './harness/stack.js';
import { storePath } from './store-path.js';

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA', 'META', 'NFLX', 'AMD', 'INTC'];
const BASE = Date.parse('2024-01-02T00:00:00.000Z');

interface Tick {
  symbol: string;
  price: number;
  timestamp: string;
  source: 'grpc';
  volume: number;
}

function makeTicks(n: number): Tick[] {
  return Array.from({ length: n }, (_, i) => ({
    symbol: SYMBOLS[i % SYMBOLS.length]!,
    price: 100 + (i % 997) / 10,
    timestamp: new Date(BASE + i).toISOString(),
    source: 'grpc',
    volume: i % 1000,
  }));
}

export const pipelineBench: Bench = async ({ quick, run }) => {
  const total = quick ? 2000 : 100_000;
  const batch = 500;
  const concurrency = 4;
  const insertS = quick ? 0.5 : 3;
  const ticks = makeTicks(total);
  const schema = `lz_bench_${run}`;
  const copySchema = `lz_bench_${run}_copy`;
  const checks: string[] = [];
  const sql = postgres(backends.databaseUrl, { max: 2, onnotice: () => undefined });
  try {
    const baseline = await bareAmqp(ticks, batch, concurrency, run);
    checks.push(
      `bare amqplib: ${baseline.consumed}/${total} ticks consumed in ${baseline.messages} messages ` +
        "(ingestion's own tick messages), each tick checked",
    );
    const copy = await copyBaseline(ticks, batch, concurrency, run, copySchema, sql);
    checks.push(
      `COPY consumer: ${copy.stored}/${total} rows counted in a table made by the provider's migrations ` +
        '(zero loss), values in range',
    );
    const copyPeer =
      `${peerLabel(await packagePeer('amqplib'))} + ${peerLabel(await packagePeer('postgres'))} ` +
      'COPY (bench/src/servers/copy-consumer.ts)';
    const pipeline = await throughIngestion(ticks, batch, concurrency, run, schema, sql);
    checks.push(...pipeline.checks);
    const inserts = await insertStyles(sql, schema, insertS);
    checks.push(...inserts.checks);
    const store = await storePath(
      ticks.map((t) => ({ ...t, timestamp: new Date(t.timestamp), publishedAt: null })),
      2000,
      quick ? 2 : 10,
      run,
    );
    checks.push(...store.checks);
    const figures: Figure[] = [
      {
        ...ratioFigure(
          'stored end to end vs the COPY consumer',
          pipeline.perSec,
          'ticks/s',
          { name: 'amqplib -> COPY consumer', value: copy.perSec },
          { min: 0.6 },
        ),
        peer: copyPeer,
      },
      {
        ...ratioFigure(
          'ingestion gRPC -> PostgreSQL stored',
          pipeline.perSec,
          'ticks/s',
          { name: 'bare amqplib publish->consume', value: baseline.perSec },
          { min: 0.5 },
        ),
      },
      valueFigure('stored throughput', pipeline.perSec, 'ticks/s', { min: 10_000 }),
      valueFigure('lost ticks', total - pipeline.stored, 'ticks', { max: 0 }),
      ratioFigure(
        'batched upsert (500 rows, one tx)',
        inserts.batchedPerSec,
        'rows/s',
        { name: 'row-at-a-time insert', value: inserts.singlePerSec },
        { min: 10 },
      ),
      ratioFigure(
        'store path, day partitions + candle rollups (batches of 2000)',
        store.partitionedPerSec,
        'ticks/s',
        { name: 'unpartitioned table (migration 001)', value: store.unpartitionedPerSec },
        { min: 1 },
      ),
    ];
    return {
      config: {
        ticks: total,
        grpcBatch: batch,
        grpcConcurrency: concurrency,
        insertSecondsEach: insertS,
        copyConsumerPrefetch: 1000,
      },
      figures,
      checks,
    };
  } finally {
    await sql.end();
    await dropSchema(schema);
    await dropSchema(copySchema);
  }
};

/**
 * The baseline: the messages ingestion publishes for the same ticks (its own `tickMessages`, per 500-tick slice),
 * published with confirms awaited per window of as many ticks as the gRPC calls in flight carry, consumed with
 * prefetch and acks; every tick in every body is counted and checked.
 */
async function bareAmqp(
  ticks: Tick[],
  batch: number,
  concurrency: number,
  run: string,
): Promise<{ perSec: number; consumed: number; messages: number }> {
  const conn = await connect(backends.amqpUrl);
  const exchange = `lz.${run}.bare`;
  const queue = `lz.${run}.bare.q`;
  try {
    const pub = await conn.createConfirmChannel();
    const sub = await conn.createChannel();
    await pub.assertExchange(exchange, 'topic', { durable: true });
    await pub.assertQueue(queue, { durable: true });
    await pub.bindQueue(queue, exchange, '#');
    await sub.prefetch(1000);
    let consumed = 0;
    let messages = 0;
    let wrong = 0;
    const done = new Promise<void>((resolve) => {
      void sub.consume(queue, (msg) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString()) as Tick | { ticks: Tick[] };
        const got = 'ticks' in body ? body.ticks : [body];
        for (const tick of got)
          if (tick.symbol !== msg.fields.routingKey || !SYMBOLS.includes(tick.symbol) || !(tick.price >= 100)) wrong++;
        sub.ack(msg);
        messages++;
        consumed += got.length;
        if (consumed >= ticks.length) resolve();
      });
    });
    const start = Date.now();
    await publishAsIngestion(pub, exchange, ticks, batch, concurrency);
    await Promise.race([
      done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`bare amqplib: ${consumed}/${ticks.length} consumed`)), 60_000),
      ),
    ]);
    const perSec = ticks.length / ((Date.now() - start) / 1000);
    if (wrong > 0 || consumed !== ticks.length)
      throw new Error(`bare amqplib: ${wrong} malformed ticks, ${consumed}/${ticks.length} consumed`);
    await pub.deleteQueue(queue);
    await pub.deleteExchange(exchange);
    return { perSec, consumed, messages };
  } finally {
    await conn.close();
  }
}

/**
 * Publishes the messages ingestion would for `ticks` (its own `tickMessages`, per `batch`-tick slice), awaiting
 * confirms per window of as many ticks as `concurrency` gRPC calls in flight carry.
 */
async function publishAsIngestion(
  channel: ConfirmChannel,
  exchange: string,
  ticks: Tick[],
  batch: number,
  concurrency: number,
): Promise<void> {
  const window = batch * concurrency;
  for (let i = 0; i < ticks.length; i += window) {
    for (let j = i; j < Math.min(i + window, ticks.length); j += batch) {
      for (const m of tickMessages(exchange, ticks.slice(j, j + batch), Date.now())) {
        channel.publish(m.exchange, m.routingKey, m.body, {
          persistent: true,
          contentType: m.options?.contentType,
          messageId: m.options?.messageId,
          headers: m.options?.headers,
        });
      }
    }
    await channel.waitForConfirms();
  }
}

/**
 * The consumer a user would write (servers/copy-consumer.ts, its own process): the same messages, published as in
 * `bareAmqp`, consumed with prefetch and COPYed into a table made by the provider's own migrations, acked after
 * commit; timed from the first publish until every tick is committed, then the rows are counted.
 */
async function copyBaseline(
  ticks: Tick[],
  batch: number,
  concurrency: number,
  run: string,
  schema: string,
  sql: postgres.Sql,
) {
  const exchange = `lz.${run}.copy`;
  const queue = `lz.${run}.copy.q`;
  await migrate(sql, schema);
  const conn = await connect(backends.amqpUrl);
  const group = new ProcessGroup();
  try {
    const pub = await conn.createConfirmChannel();
    await pub.assertExchange(exchange, 'topic', { durable: true });
    await pub.assertQueue(queue, { durable: true });
    await pub.bindQueue(queue, exchange, '#');
    const consumer = await group.start({
      name: 'copy-consumer',
      script: benchScript('servers/copy-consumer.js'),
      env: {
        AMQP_URL: backends.amqpUrl,
        QUEUE: queue,
        DATABASE_URL: backends.databaseUrl,
        DATABASE_SCHEMA: schema,
        PREFETCH: '1000',
      },
    });
    const committed = async () =>
      ((await request(`${consumer.url}/stored`).then((r) => r.body.json())) as { rows: number }).rows;
    const start = Date.now();
    await publishAsIngestion(pub, exchange, ticks, batch, concurrency);
    await waitFor(
      `${ticks.length} ticks committed by the COPY consumer`,
      async () => (await committed()) >= ticks.length,
      120_000,
      20,
    );
    const perSec = ticks.length / ((Date.now() - start) / 1000);
    const [counted] = await sql`SELECT count(*)::int AS n,
        count(*) FILTER (WHERE price < 100 OR price > 200 OR "timestamp" < ${new Date(BASE)}
          OR "timestamp" >= ${new Date(BASE + ticks.length)})::int AS wrong
      FROM ${sql(schema)}.ticks`;
    if (Number(counted!.n) !== ticks.length || Number(counted!.wrong) !== 0)
      throw new Error(
        `COPY consumer: ${String(counted!.n)} rows (${String(counted!.wrong)} wrong) for ${ticks.length} ticks`,
      );
    await pub.deleteQueue(queue);
    await pub.deleteExchange(exchange);
    return { perSec, stored: Number(counted!.n) };
  } finally {
    await group.stopAll();
    await conn.close();
  }
}

async function throughIngestion(
  ticks: Tick[],
  batch: number,
  concurrency: number,
  run: string,
  schema: string,
  sql: postgres.Sql,
) {
  const names = busNames(run);
  const group = new ProcessGroup();
  const grpcPort = await freePort();
  const token = randomBytes(24).toString('base64url');
  const auth = new Metadata();
  auth.set('authorization', `Bearer ${token}`);
  const { Client } = loadDataProcessor();
  let client: InstanceType<typeof Client> | undefined;
  try {
    const provider = await startProvider(group, schema, { AMQP_URL: backends.amqpUrl, ...names });
    await startIngestion(group, grpcPort, {
      ...names,
      INGEST_TOKEN: token,
      SIMULATED_TICK_MS: '3600000',
      SYMBOLS: SYMBOLS.join(','),
      RAW_STORE_MAX_BYTES: '1073741824',
      // The bench measures the pipeline's throughput, not the per-client call limit (default 50 calls/s).
      GRPC_RATE_LIMIT_MAX: '100000',
    });
    client = new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
    const c = client;
    const call = (content: string) =>
      new Promise<ProcessingResponse>((resolve, reject) => {
        c.ProcessData({ content }, auth, (err, res) =>
          err || !res ? reject(err ?? new Error('no response')) : resolve(res),
        );
      });
    const stored = async () =>
      Number((await sql`SELECT count(*)::int AS n FROM ${sql(schema)}.ticks WHERE source = 'grpc'`)[0]!.n);

    const start = Date.now();
    let next = 0;
    let accepted = 0;
    const worker = async () => {
      while (next < ticks.length) {
        const slice = ticks.slice(next, next + batch);
        next += batch;
        const res = await call(JSON.stringify(slice.map(({ source: _s, ...t }) => t)));
        if (res.status !== 'OK' || res.accepted !== slice.length)
          throw new Error(`ProcessData: ${res.status} ${res.message}`);
        accepted += res.accepted;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const pushedAt = Date.now();
    // The provider's counter (incremented after each commit) is watched while rows arrive: a count(*) over a growing
    // table every 20 ms would take a PostgreSQL core from the writer it measures. The rows are then counted exactly.
    await waitFor(
      `${ticks.length} ticks stored`,
      async () => (await scrapeCounter(provider, 'provider_ticks_stored_total')) >= ticks.length,
      120_000,
      20,
    );
    await waitFor(`${ticks.length} rows stored`, async () => (await stored()) >= ticks.length, 10_000, 100);
    const elapsedS = (Date.now() - start) / 1000;
    const count = await stored();
    const [sample] = await sql`SELECT count(*)::int AS wrong FROM ${sql(schema)}.ticks t
      WHERE source = 'grpc' AND (price < 100 OR price > 200
        OR "timestamp" < ${new Date(BASE)} OR "timestamp" >= ${new Date(BASE + ticks.length)})`;
    if (count !== ticks.length || Number(sample!.wrong) !== 0)
      throw new Error(`stored ${count} rows (${String(sample!.wrong)} wrong) for ${ticks.length} ticks`);
    return {
      perSec: ticks.length / elapsedS,
      stored: count,
      checks: [
        `pipeline: ${accepted}/${ticks.length} ticks accepted over gRPC ` +
          `in ${((pushedAt - start) / 1000).toFixed(1)} s, ` +
          `${count}/${ticks.length} rows stored after ${elapsedS.toFixed(1)} s ` +
          '(zero loss, no duplicates: primary key), values in range',
      ],
    };
  } finally {
    client?.close();
    await group.stopAll();
    const conn = await connect(backends.amqpUrl);
    const ch = await conn.createChannel();
    for (const q of [names.STORE_QUEUE, `${names.STORE_QUEUE}.dlq`]) await ch.deleteQueue(q).catch(() => undefined);
    for (const e of [names.PRICES_EXCHANGE, names.LIVE_EXCHANGE]) await ch.deleteExchange(e).catch(() => undefined);
    await conn.close();
  }
}

async function insertStyles(sql: postgres.Sql, schema: string, seconds: number) {
  const table = sql(`${schema}_ins`);
  await sql`CREATE SCHEMA IF NOT EXISTS ${table}`;
  const create = (name: string) => sql`CREATE TABLE ${table}.${sql(name)} (
    symbol text NOT NULL, source text NOT NULL, "timestamp" timestamptz NOT NULL,
    price double precision NOT NULL, volume bigint,
    seq bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (symbol, source, "timestamp"))`;
  try {
    await create('batched');
    await create('single');
    let i = 0;
    const row = () => {
      const t = BASE + i++;
      return { symbol: SYMBOLS[t % SYMBOLS.length]!, source: 'grpc', timestamp: new Date(t), price: 100, volume: 1 };
    };
    let end = Date.now() + seconds * 1000;
    let batched = 0;
    while (Date.now() < end) {
      const rows = Array.from({ length: 500 }, row);
      await sql.begin(async (tx) => {
        await tx`INSERT INTO ${table}.batched ${tx(rows, 'symbol', 'source', 'timestamp', 'price', 'volume')}
          ON CONFLICT DO NOTHING`;
      });
      batched += rows.length;
    }
    const batchedPerSec = batched / seconds;
    end = Date.now() + seconds * 1000;
    let single = 0;
    while (Date.now() < end) {
      const r = row();
      await sql`INSERT INTO ${table}.single (symbol, source, "timestamp", price, volume)
        VALUES (${r.symbol}, ${r.source}, ${r.timestamp}, ${r.price}, ${r.volume}) ON CONFLICT DO NOTHING`;
      single++;
    }
    const singlePerSec = single / seconds;
    const counts = await sql`SELECT (SELECT count(*) FROM ${table}.batched)::int AS b,
        (SELECT count(*) FROM ${table}.single)::int AS s`;
    if (Number(counts[0]!.b) !== batched || Number(counts[0]!.s) !== single)
      throw new Error(`insert counts differ: ${JSON.stringify(counts[0])} vs ${batched}/${single}`);
    return {
      batchedPerSec,
      singlePerSec,
      checks: [`inserts: ${batched} batched and ${single} single rows, both counted back from PostgreSQL`],
    };
  } finally {
    await sql`DROP SCHEMA IF EXISTS ${table} CASCADE`;
  }
}

if (isMain(import.meta.url)) await mainOf('pipeline', pipelineBench);
