// WebSocket fan-out capacity: N subscribed clients (child processes) and ticks published into the bus at a rate that
// steps up until the server no longer delivers every tick with p99 tick-to-client <= 100 ms; the provider (through
// PostgreSQL and its hub), a bare amqplib -> ws broadcast and a Socket.IO server (a room per symbol) get the same
// ticks.
import { execSync } from 'node:child_process';
import { connect, type ConfirmChannel } from 'amqplib';
import postgres from 'postgres';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { dropSchema } from './harness/cleanup.js';
import { ClientFleet, histogramPercentile } from './harness/client-fleet.js';
import { scrapeCounter } from './harness/metrics.js';
import { benchScript } from './harness/paths.js';
import { packagePeer, peerLabel, type Skipped } from './harness/peers.js';
import { cpuMs } from './harness/process-stats.js';
import { ratioFigure, valueFigure, type Figure } from './harness/results.js';
import { ProcessGroup, backends, waitFor, type ServiceProcess } from './harness/services.js';
import { busNames, startProvider } from './harness/stack.js';

const SYMBOL = 'AAPL';
/** The latency a step must keep (with no tick dropped) to count as delivered. */
const P99_LIMIT_MS = 100;
/** Ticks of one symbol need distinct millisecond timestamps (each is its own row). */
const MAX_TICKS_PER_SEC = 1000;

type Server = 'provider' | 'bare' | 'socket.io';

interface Plan {
  clients: number[];
  /** Seconds of ticks per step. */
  stepS: number;
  /** Where the search starts (deliveries per second offered), and the fixed-rate step provider and bare both get. */
  startOffered: number;
  fixedOffered: number;
  maxSteps: number;
  bisections: number;
  warmUp: boolean;
}

/** One step at a fixed offered rate: what arrived, how late, and whether it counts as sustained. */
interface Step {
  ticksPerSec: number;
  offered: number;
  delivered: number;
  p50: number;
  p99: number;
  drops: number;
  passed: boolean;
  serverCpuS: number;
  clientCpuS: number;
}

interface Session {
  fixed?: Step;
  /** The highest step that passed, and the lowest rate (ticks/s) that failed. */
  capacity?: Step;
  failedAt?: number;
  /** Every step in order (the search's, then the fixed-rate one); `searched` only the search's. */
  steps: Step[];
  searched: Step[];
  checks: string[];
}

export const wsFanout: Bench = async ({ quick, run }) => {
  const plan: Plan = quick
    ? { clients: [50], stepS: 1, startOffered: 1000, fixedOffered: 2500, maxSteps: 2, bisections: 0, warmUp: false }
    : {
        clients: [1000, 10_000],
        stepS: 5,
        startOffered: 5000,
        fixedOffered: 60_000,
        maxSteps: 7,
        bisections: 2,
        warmUp: true,
      };
  const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
  const needed = Math.max(...plan.clients) + 256;
  if (fdLimit < needed)
    throw new Error(`ulimit -n is ${fdLimit}; ${needed} descriptors are needed (raise it: ulimit -n ${needed})`);
  const socketIoServer = peerLabel(await packagePeer('socket.io'));
  const socketIo = `${socketIoServer} (clients: ${peerLabel(await packagePeer('socket.io-client'))})`;
  const ws = `${peerLabel(await packagePeer('ws'))} (bench/src/servers/bare-ws-broadcast.ts)`;

  const figures: Figure[] = [];
  const checks: string[] = [];
  const skipped: Skipped[] = [];
  const steps: Record<string, Step[]> = {};
  for (const clients of plan.clients) {
    const label = `${clients} clients`;
    const s: Record<Server, Session> = {
      bare: await runSession('bare', clients, `${run}b${clients}`, plan),
      'socket.io': await runSession('socket.io', clients, `${run}s${clients}`, plan),
      provider: await runSession('provider', clients, `${run}p${clients}`, plan),
    };
    for (const [server, session] of Object.entries(s)) {
      checks.push(...session.checks);
      steps[`${server}, ${label}`] = session.steps;
    }
    const capacity = (server: Server) => s[server].capacity?.delivered ?? 0;
    const capacityVs = (server: Server, name: string, min: number, peer: string) => {
      if (capacity(server) > 0) {
        figures.push({
          ...ratioFigure(
            `${label}: capacity, provider vs ${name}`,
            capacity('provider'),
            'msgs/s',
            { name, value: capacity(server) },
            { min },
          ),
          peer,
        });
      } else {
        skipped.push({
          name: `${label}: capacity ratio provider / ${name}`,
          reason:
            `${name} met p99 <= ${P99_LIMIT_MS} ms with no drops ` + `at no rate tried (${lowest(s[server].searched)})`,
        });
      }
    };
    figures.push(
      valueFigure(`${label}: capacity, provider (p99 <= ${P99_LIMIT_MS} ms, no drops)`, capacity('provider'), 'msgs/s'),
      { ...valueFigure(`${label}: capacity, Socket.IO`, capacity('socket.io'), 'msgs/s'), peer: socketIo },
      { ...valueFigure(`${label}: capacity, bare ws`, capacity('bare'), 'msgs/s'), peer: ws },
    );
    capacityVs('socket.io', 'Socket.IO', 2, socketIo);
    capacityVs('bare', 'bare ws', 1.2, ws);
    const [p, b] = [s.provider.fixed!, s.bare.fixed!];
    const at = `at ${plan.fixedOffered} offered`;
    figures.push(
      {
        ...ratioFigure(`${label}: delivered ${at}`, p.delivered, 'msgs/s', { name: 'bare ws', value: b.delivered }),
        peer: ws,
      },
      {
        ...ratioFigure(
          `${label}: p99 tick-to-client ${at}`,
          p.p99,
          'ms',
          { name: 'bare ws p99', value: b.p99 },
          { max: 0.5 },
        ),
        peer: ws,
      },
      {
        ...valueFigure(`${label}: p50 tick-to-client ${at}`, p.p50, 'ms'),
        baseline: { name: 'bare ws p50', value: b.p50 },
        peer: ws,
      },
      {
        ...valueFigure(`${label}: drops ${at}`, p.drops, 'msgs', { max: 0 }),
        baseline: { name: 'bare ws drops', value: b.drops },
        peer: ws,
      },
    );
  }
  return {
    config: {
      ...plan,
      p99LimitMs: P99_LIMIT_MS,
      symbol: SYMBOL,
      clientProcesses: 2,
      storeBatchWaitMs: 2,
      peers: { socketIo, ws },
      path:
        'amqplib publish -> prices -> provider worker -> PostgreSQL -> prices.live -> hub -> ws clients (2 ' +
        'child processes); ' +
        'baselines consume the same exchange with amqplib and broadcast without a store',
      steps,
    },
    figures,
    checks,
    skipped,
  };
};

/** The lowest rate a search tried, and how it went (when none passed). */
function lowest(searched: Step[]): string {
  const low = searched.reduce<Step | undefined>((a, b) => (a && a.offered <= b.offered ? a : b), undefined);
  return low ? `lowest ${low.offered.toFixed(0)} offered: p99 ${low.p99} ms, ${low.drops} drops` : 'none tried';
}

/** Publishes ticks of SYMBOL into the run's exchange, each stamped with its send time (distinct milliseconds). */
class TickPublisher {
  published = 0;
  private lastAt = 0;
  constructor(
    private readonly channel: ConfirmChannel,
    private readonly exchange: string,
  ) {}

  publish(at = Date.now()): number {
    const stamp = Math.max(at, this.lastAt + 1);
    this.lastAt = stamp;
    const timestamp = new Date(stamp).toISOString();
    const body = {
      symbol: SYMBOL,
      price: 100 + (this.published % 1000) / 100,
      timestamp,
      source: 'simulated',
      volume: 1,
    };
    this.channel.publish(this.exchange, SYMBOL, Buffer.from(JSON.stringify(body)), {
      messageId: `simulated:${SYMBOL}:${timestamp}`,
      contentType: 'application/json',
      persistent: true,
      headers: { 'x-published-at': Date.now() },
    });
    this.published++;
    return stamp;
  }

  /** `count` ticks at `perSec`, on schedule (a late timer is caught up, not skipped); resolves once confirmed. */
  async paced(count: number, perSec: number): Promise<void> {
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / perSec - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.publish();
    }
    await this.channel.waitForConfirms();
  }
}

function startServer(
  server: Server,
  group: ProcessGroup,
  schema: string,
  names: ReturnType<typeof busNames>,
): Promise<ServiceProcess> {
  const feed = { AMQP_URL: backends.amqpUrl, PRICES_EXCHANGE: names.PRICES_EXCHANGE };
  if (server === 'bare')
    return group.start({ name: 'bare-ws', script: benchScript('servers/bare-ws-broadcast.js'), env: feed });
  if (server === 'socket.io')
    return group.start({ name: 'socket.io', script: benchScript('servers/socketio-broadcast.js'), env: feed });
  return startProvider(group, schema, {
    AMQP_URL: backends.amqpUrl,
    ...names,
    WS_AUTH: 'off',
    STORE_BATCH_WAIT_MS: '2',
  });
}

/** One server, one fleet of clients: the capacity search, then the fixed-rate step. */
async function runSession(server: Server, clients: number, run: string, plan: Plan): Promise<Session> {
  const schema = `lz_bench_${run}`;
  const names = busNames(run);
  const group = new ProcessGroup();
  // Nagle off: a tick is published the moment it is stamped (as the services' own connections do).
  const amqp = await connect(backends.amqpUrl, { noDelay: true });
  const channel = await amqp.createConfirmChannel();
  const sql = postgres(backends.databaseUrl, { max: 1, onnotice: () => undefined });
  let fleet: ClientFleet | undefined;
  try {
    const service = await startServer(server, group, schema, names);
    const publisher = new TickPublisher(channel, names.PRICES_EXCHANGE);
    const rows = async () => Number((await sql`SELECT count(*)::int AS n FROM ${sql(schema)}.ticks`)[0]!.n);
    // The first tick makes the symbol known to the provider, so clients can subscribe to it; it is their snapshot.
    const seedAt = publisher.publish(Date.now() - 60_000);
    await channel.waitForConfirms();
    if (server === 'provider') await waitFor('first tick stored', async () => (await rows()) === 1, 10_000);
    const f = await ClientFleet.open({
      url: server === 'socket.io' ? `http://127.0.0.1:${service.port}` : `ws://127.0.0.1:${service.port}/ws`,
      protocol: server === 'socket.io' ? 'socket.io' : 'ws',
      clients,
      processes: 2,
      symbols: [SYMBOL],
      liveAfter: seedAt + 1,
      awaitSnapshot: server === 'provider',
    });
    fleet = f;
    const steps: Step[] = [];
    const step = async (ticksPerSec: number, record = true) => {
      const s = await runStep(f, publisher, service, clients, ticksPerSec, plan.stepS);
      if (record) steps.push(s);
      return s;
    };
    const start = Math.max(1, plan.startOffered / clients);
    if (plan.warmUp) await step(start, false);
    const { capacity, failedAt } = await searchCapacity(step, start, plan);
    const searched = [...steps];
    // Last: a server far past its capacity may still be sending this step's backlog when the session ends.
    const fixed = server === 'socket.io' ? undefined : await step(plan.fixedOffered / clients);

    const totals = await f.collect();
    const stored = server === 'provider' ? await storedAll(rows, publisher.published) : undefined;
    const conflated = server === 'provider' ? await scrapeCounter(service, 'provider_ws_conflated_total') : 0;
    const failures =
      `${totals.outOfOrder} repeated/out of order, ${totals.closedEarly} sockets closed early, ` +
      `${totals.errors} socket errors, ${totals.errorMessages} error messages`;
    if (totals.outOfOrder > 0 || totals.errorMessages > 0)
      throw new Error(`${server}, ${clients} clients: wrong delivery: ${failures}`);
    const found = capacity
      ? `capacity ${capacity.delivered.toFixed(0)} msgs/s (p99 ${capacity.p99} ms)` +
        (failedAt === undefined ? ' (highest rate tried)' : `, failed at ${(failedAt * clients).toFixed(0)} offered`)
      : `no rate passed (${lowest(searched)})`;
    return {
      fixed,
      capacity,
      failedAt,
      steps,
      searched,
      checks: [
        `${server}, ${clients} clients: ${steps.length} step${steps.length === 1 ? '' : 's'} of ${plan.stepS} s, ` +
          `${found}; every client counted every tick of every step (drops = expected - received); ` +
          `${publisher.published - 1} ticks published${stored === undefined ? '' : `, ${stored - 1} stored rows`}; ` +
          `${failures}, ${conflated} conflated by the server`,
      ],
    };
  } finally {
    fleet?.close();
    await group.stopAll();
    await sql.end();
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

/** Waits until every published tick is a row (the provider stores before it pushes) and returns the count. */
async function storedAll(rows: () => Promise<number>, published: number): Promise<number> {
  await waitFor(`${published} rows stored`, async () => (await rows()) >= published, 20_000, 200).catch(
    () => undefined,
  );
  const n = await rows();
  if (n !== published) throw new Error(`stored ${n} rows for ${published} published ticks`);
  return n;
}

/**
 * Doubles the rate from `start` (ticks/s) until a step fails — or halves it until one passes when the first fails —
 * then bisects between the highest passing and the lowest failing rate.
 */
async function searchCapacity(
  step: (ticksPerSec: number) => Promise<Step>,
  start: number,
  plan: Plan,
): Promise<{ capacity?: Step; failedAt?: number }> {
  let capacity: Step | undefined;
  let failedAt: number | undefined;
  let t = start;
  let steps = 0;
  while (steps++ < plan.maxSteps) {
    const s = await step(t);
    if (s.passed) {
      capacity = s;
      if (failedAt !== undefined || t * 2 > MAX_TICKS_PER_SEC) break;
      t *= 2;
    } else {
      failedAt = t;
      if (capacity || t / 2 < 1) break;
      t /= 2;
    }
  }
  for (let i = 0; i < plan.bisections && capacity && failedAt !== undefined; i++) {
    const mid = Math.sqrt(capacity.ticksPerSec * failedAt);
    const s = await step(mid);
    if (s.passed) capacity = s;
    else failedAt = mid;
  }
  return { capacity, failedAt };
}

/**
 * Publishes `stepS` seconds of ticks at `ticksPerSec`, then waits until every client has every tick (or deliveries
 * stop for a second: what is missing then is dropped), so the next step starts with nothing queued.
 */
async function runStep(
  fleet: ClientFleet,
  publisher: TickPublisher,
  service: ServiceProcess,
  clients: number,
  ticksPerSec: number,
  stepS: number,
): Promise<Step> {
  const count = Math.max(1, Math.round(stepS * ticksPerSec));
  const startedAt = Date.now();
  await fleet.reset(startedAt);
  const before = { server: cpuMs(service.child.pid), clients: (await fleet.collect()).cpuMs };
  await publisher.paced(count, ticksPerSec);
  const expected = count * clients;
  let stats = await fleet.collect();
  let progressAt = Date.now();
  const deadline = Date.now() + 30_000;
  while (stats.ticks < expected && Date.now() < deadline && Date.now() - progressAt < 1000) {
    await new Promise((r) => setTimeout(r, 100));
    const next = await fleet.collect();
    if (next.ticks > stats.ticks) progressAt = Date.now();
    stats = next;
  }
  if (stats.maxTicks > count)
    throw new Error(`a client counted ${stats.maxTicks} ticks of a step that published ${count}`);
  const p99 = histogramPercentile(stats.histogram, 0.99);
  const drops = expected - stats.ticks;
  return {
    ticksPerSec,
    offered: ticksPerSec * clients,
    delivered: (stats.ticks * ticksPerSec) / count,
    p50: histogramPercentile(stats.histogram, 0.5),
    p99,
    drops,
    passed: drops === 0 && p99 <= P99_LIMIT_MS && stats.open === clients,
    serverCpuS: (cpuMs(service.child.pid) - before.server) / 1000,
    clientCpuS: (stats.cpuMs - before.clients) / 1000,
  } satisfies Step;
}

if (isMain(import.meta.url)) await mainOf('ws-fanout', wsFanout);
