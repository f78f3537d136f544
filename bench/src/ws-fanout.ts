// WebSocket fan-out: N subscribed clients (child processes), ticks published into the bus at a fixed rate,
// each stamped with its send time; measured at the clients after PostgreSQL and the provider's hub.
import { connect } from 'amqplib';
import postgres from 'postgres';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { dropSchema } from './harness/cleanup.js';
import { ClientFleet, histogramPercentile } from './harness/client-fleet.js';
import { scrapeCounter } from './harness/metrics.js';
import { benchScript, serverScript } from './harness/paths.js';
import { ratioFigure, valueFigure, type Figure } from './harness/results.js';
import { ProcessGroup, backends, waitFor } from './harness/services.js';
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const SYMBOL = 'AAPL';

interface Scenario {
  clients: number;
  ticksPerSec: number;
  durationS: number;
  p99TargetMs: number;
}

export const wsFanout: Bench = async ({ quick, run }) => {
  const scenarios: Scenario[] = quick
    ? [{ clients: 50, ticksPerSec: 20, durationS: 1, p99TargetMs: 10 }]
    : [
        { clients: 1000, ticksPerSec: 60, durationS: 8, p99TargetMs: 10 },
        { clients: 10_000, ticksPerSec: 6, durationS: 10, p99TargetMs: 60 },
      ];
  const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
  const needed = Math.max(...scenarios.map((s) => s.clients)) + 1000;
  if (fdLimit < needed) throw new Error(`ulimit -n is ${fdLimit}; ${needed} descriptors are needed (raise it: ulimit -n ${needed})`);

  const figures: Figure[] = [];
  const checks: string[] = [];
  for (const s of scenarios) {
    const bare = await runScenario(s, `${run}b${s.clients}`, 'bare');
    const r = await runScenario(s, `${run}${s.clients}`, 'provider');
    const label = `${s.clients} clients`;
    const baseline = { name: 'bare amqplib->ws broadcast', value: bare.deliveredPerSec };
    figures.push(
      { ...ratioFigure(`${label}: delivered`, r.deliveredPerSec, 'msgs/s', baseline), ...targetMin(r.deliveredPerSec, 50_000) },
      valueFigure(`${label}: offered (ticks/s x clients)`, s.ticksPerSec * s.clients, 'msgs/s'),
      { ...valueFigure(`${label}: p50 tick-to-client`, r.p50, 'ms'), baseline: { name: 'bare p50', value: bare.p50 } },
      { ...valueFigure(`${label}: p99 tick-to-client`, r.p99, 'ms', { max: s.p99TargetMs }), baseline: { name: 'bare p99', value: bare.p99 } },
      { ...valueFigure(`${label}: drops`, r.drops, 'ticks', { max: 0 }), baseline: { name: 'bare drops', value: bare.drops } },
    );
    checks.push(...bare.checks, ...r.checks);
  }
  return { config: { scenarios, fdLimit, storeBatchWaitMs: 2, path: 'amqplib publish -> prices -> provider worker -> PostgreSQL -> prices.live -> hub -> ws clients (2 child processes)' }, figures, checks };
};

/** User + system CPU time of a process so far (Linux /proc; NaN elsewhere). */
function serverCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after "pid (comm) "), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function targetMin(v: number, min: number): Pick<Figure, 'target' | 'met'> {
  return { target: `>= ${min} msgs/s`, met: v >= min };
}

async function runScenario(s: Scenario, run: string, target: 'provider' | 'bare') {
  const schema = `lz_bench_${run}`;
  const names = { PRICES_EXCHANGE: `lz.${run}.prices`, STORE_QUEUE: `lz.${run}.prices.store`, LIVE_EXCHANGE: `lz.${run}.prices.live` };
  const group = new ProcessGroup();
  // Nagle off: a tick is published the moment it is stamped (as the services' own connections do).
  const amqp = await connect(backends.amqpUrl, { noDelay: true });
  const channel = await amqp.createConfirmChannel();
  let fleet: ClientFleet | undefined;
  try {
    const provider = target === 'bare'
      ? await group.start({ name: 'bare-ws', script: benchScript('servers/bare-ws-broadcast.js'), env: { AMQP_URL: backends.amqpUrl, PRICES_EXCHANGE: names.PRICES_EXCHANGE } })
      : await group.start({
      name: 'provider',
      script: serverScript('provider'),
      env: {
        DATABASE_URL: backends.databaseUrl, DATABASE_SCHEMA: schema, AMQP_URL: backends.amqpUrl, ...names,
        WS_AUTH: 'off', STORE_BATCH_WAIT_MS: '2', REGISTRY_URL: 'http://127.0.0.1:9', HEARTBEAT_INTERVAL_MS: '60000',
      },
      readyPath: '/ready',
    });
    let sent = 0;
    const publish = async (at: number) => {
      const timestamp = new Date(at).toISOString();
      const body = { symbol: SYMBOL, price: 100 + (sent % 1000) / 100, timestamp, source: 'simulated', volume: 1 };
      channel.publish(names.PRICES_EXCHANGE, SYMBOL, Buffer.from(JSON.stringify(body)), {
        messageId: `simulated:${SYMBOL}:${timestamp}`, contentType: 'application/json', persistent: true, headers: { 'x-published-at': Date.now() },
      });
      sent++;
    };
    // The first tick makes the symbol known, so clients can subscribe to it.
    const seedAt = Date.now() - 60_000;
    await publish(seedAt);
    await channel.waitForConfirms();
    const sql = postgres(backends.databaseUrl, { max: 1, onnotice: () => undefined });
    const rows = async () => Number((await sql`SELECT count(*)::int AS n FROM ${sql(schema)}.ticks`)[0]!.n);
    try {
      if (target === 'provider') await waitFor('first tick stored', async () => (await rows()) === 1, 10_000);
      // The provider sends each subscriber the stored seed tick as a snapshot; the run starts once all have it.
      fleet = await ClientFleet.open(`ws://127.0.0.1:${provider.port}/ws`, s.clients, 2, [SYMBOL], seedAt + 1, target === 'provider');

      const cpuBefore = { server: serverCpuMs(provider.child.pid), clients: (await fleet.collect()).cpuMs, at: Date.now() };
      const intervalMs = 1000 / s.ticksPerSec;
      const start = Date.now();
      const total = Math.round(s.durationS * s.ticksPerSec);
      let lastAt = 0;
      for (let i = 0; i < total; i++) {
        const due = start + i * intervalMs;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const at = Math.max(Date.now(), lastAt + 1); // distinct timestamps: each tick its own row
        lastAt = at;
        await publish(at);
      }
      await channel.waitForConfirms();
      const expected = total * s.clients;
      let stats = await fleet.collect();
      const settleEnd = Date.now() + 10_000;
      while (stats.ticks < expected && Date.now() < settleEnd) {
        await new Promise((r) => setTimeout(r, 200));
        stats = await fleet.collect();
      }
      const cpu = {
        server: serverCpuMs(provider.child.pid) - cpuBefore.server,
        clients: stats.cpuMs - cpuBefore.clients,
        wall: Date.now() - cpuBefore.at,
      };
      const stored = target === 'provider' ? await rows() : total + 1;
      const [storeLag] = target === 'bare' ? [{ p50: Number.NaN, p99: Number.NaN }] : await sql`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - "timestamp") * 1000) AS p50,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - "timestamp") * 1000) AS p99
        FROM ${sql(schema)}.ticks WHERE "timestamp" > now() - interval '50 seconds'`;
      const conflated = target === 'provider' ? await scrapeCounter(provider.url, 'provider_ws_conflated_total') : 0;
      const drops = expected - stats.ticks;
      const checks = [
        `${target}, ${s.clients} clients: ${total} ticks published, ${target === 'provider' ? `${stored - 1}/${total} stored rows` : 'no store'}, ${stats.ticks}/${expected} tick deliveries ` +
          `(${stats.messages} price_update messages incl. snapshots; per client min ${stats.minTicks} max ${stats.maxTicks}), ${stats.outOfOrder} repeated/out of order, ` +
          `${stats.closedEarly} sockets closed early, ${stats.errors} socket errors, ${stats.errorMessages} error messages, ${conflated} conflated by the provider; ` +
          `publish-to-commit (stored_at - timestamp) p50 ${Number(storeLag?.p50).toFixed(1)} ms, p99 ${Number(storeLag?.p99).toFixed(1)} ms; ` +
          `CPU while publishing and delivering: ${target} ${(cpu.server / 1000).toFixed(1)} s, client processes ${(cpu.clients / 1000).toFixed(1)} s, in ${(cpu.wall / 1000).toFixed(1)} s`,
      ];
      if (stored - 1 !== total) throw new Error(`stored ${stored - 1} rows for ${total} published ticks`);
      if (stats.outOfOrder > 0 || stats.maxTicks > total || stats.errorMessages > 0) throw new Error(`wrong delivery: ${checks[0]}`);
      const spanS = Math.max(1, stats.lastAt - stats.firstAt) / 1000;
      return {
        deliveredPerSec: stats.ticks / spanS,
        p50: histogramPercentile(stats.histogram, 0.5),
        p99: histogramPercentile(stats.histogram, 0.99),
        drops,
        storeP50: Number(storeLag?.p50),
        checks,
      };
    } finally {
      await sql.end();
    }
  } finally {
    fleet?.close();
    await group.stopAll();
    await channel.close().catch(() => undefined);
    const cleanup = await amqp.createChannel();
    await cleanup.deleteQueue(names.STORE_QUEUE).catch(() => undefined);
    await cleanup.deleteQueue(`${names.STORE_QUEUE}.dlq`).catch(() => undefined);
    await cleanup.deleteExchange(names.PRICES_EXCHANGE).catch(() => undefined);
    await cleanup.deleteExchange(names.LIVE_EXCHANGE).catch(() => undefined);
    await amqp.close().catch(() => undefined);
    await dropSchema(schema);
  }
}

if (isMain(import.meta.url)) await mainOf('ws-fanout', wsFanout);
