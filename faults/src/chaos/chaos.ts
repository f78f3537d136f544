import { writeFileSync } from 'node:fs';
import { waitFor } from '@lizards/testkit';
import { SYMBOLS, Stack, queueDepth } from '../stack.js';
import { DeliveryCheck, StoredTicks } from './delivery-check.js';
import { FaultInjector } from './fault-injector.js';
import { RestReaders } from './rest-readers.js';
import { describeFault, makeSchedule, type KillTarget } from './schedule.js';
import { SoakClient, TickIds } from './soak-client.js';

export interface ChaosOptions {
  seed: number;
  minutes: number;
  /** WebSocket clients through the gateways (500 in `pnpm chaos`). */
  clients: number;
  /** gRPC ticks pushed per second (the simulated market adds one per symbol per second). */
  ticksPerSecond: number;
  /** Mean time between fault starts. */
  meanFaultGapMs: number;
  /** Bound on every service process's resident set. */
  maxRssMb: number;
  /** Convergence bound after the last fault. */
  convergeMs: number;
  log: (line: string) => void;
  /** Writes every message of each client with a violation to `/tmp/chaos-trace-<seed>-<client>.log`. */
  trace?: boolean;
  /** Ends the soak early (Ctrl-C): the stack is still closed and cleaned up. */
  signal?: AbortSignal;
}

export const CHAOS_DEFAULTS = {
  clients: 500,
  ticksPerSecond: 40,
  meanFaultGapMs: 4000,
  maxRssMb: 400,
  convergeMs: 30_000,
} as const;

export interface ChaosReport {
  seed: number;
  minutes: number;
  clients: number;
  faults: number;
  faultsByKind: Record<string, number>;
  accepted: number;
  /** gRPC ticks of failed calls that were stored all the same (published before the failure reached the caller). */
  storedUnsure: number;
  stored: number;
  deliveries: number;
  clientReconnects: number;
  rest: { ok: number; unavailable: number; other: number; gatewayDown: number };
  peakRssMb: Record<string, number>;
  convergedMs: number | undefined;
  violations: string[];
  timeline: string;
}

const CHECK_EVERY_MS = 10_000;
const SERVICES = { gateway: 2, provider: 2, ingestion: 1, 'ingestion-grpc': 1 } as const;

/**
 * The chaos soak: the real services as processes under load, a seeded random schedule of overlapping faults, and the
 * delivery invariants checked every few seconds and at the end. Resolves with a report; `violations` empty means
 * nothing was lost, doubled, reordered, refused wrongly or left behind.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const { log } = opts;
  const durationMs = Math.round(opts.minutes * 60_000);
  log(`chaos: seed ${opts.seed}, ${opts.minutes} min, ${opts.clients} clients, ${opts.ticksPerSecond} gRPC ticks/s`);
  const aborted = new Promise<never>((_, reject) =>
    opts.signal?.addEventListener('abort', () => reject(new Error('interrupted')), { once: true }),
  );
  aborted.catch(() => undefined);
  const orAbort = <T>(p: Promise<T>): Promise<T> => Promise.race([p, aborted]);
  const stack = await Stack.start({
    providers: 2,
    gateways: 2,
    proxiedRedis: true,
    durableRawStore: true,
    heartbeatMs: 500,
    leaseTtlMs: 3000,
    logLevel: 'warn',
    ingestionEnv: { SOURCES: 'simulated', SIMULATED_TICK_MS: '1000', SIMULATED_SEED: String(opts.seed) },
    // Clients of the soak share one busy process: a generous send buffer keeps them from being conflated.
    providerEnv: {
      WS_SEND_BUFFER_BYTES: String(4 * 1024 * 1024),
      WS_SLOW_CLIENT_TIMEOUT_MS: '60000',
      DATABASE_POOL_SIZE: '4',
    },
  });
  const violations: string[] = [];
  const ids = new TickIds();
  const stored = new StoredTicks(stack.sql, stack.schema);
  const check = new DeliveryCheck(stored, ids);
  const clients: SoakClient[] = [];
  const peakRss = new Map<string, number>();
  const crashed = new Set<string>();
  let rest: RestReaders | undefined;
  const timers: NodeJS.Timeout[] = [];
  let convergedMs: number | undefined;
  try {
    for (let i = 0; i < opts.clients; i++) {
      const client = new SoakClient({
        id: i,
        seed: opts.seed,
        symbols: SYMBOLS,
        gateways: () => stack.gateways.map((g) => g.url),
        ids,
        meanActionMs: 20_000,
        trace: opts.trace ?? false,
      });
      clients.push(client);
      client.start();
      if (i % 25 === 24) await new Promise((r) => setTimeout(r, 100));
    }
    await orAbort(waitFor(() => clients.every((c) => c.connected), 120_000, `${opts.clients} clients to connect`, 200));
    log(`chaos: ${opts.clients} clients connected; load and faults start`);

    const t0 = Date.now();
    const injector = new FaultInjector(stack, t0);
    const gatewayTargets: KillTarget[] = ['gateway-1', 'gateway-2'];
    rest = new RestReaders({
      seed: opts.seed,
      readers: 4,
      symbols: SYMBOLS,
      gateways: () => stack.gateways.map((g, i) => ({ url: g.url, up: () => !injector.down.has(gatewayTargets[i]!) })),
      elapsed: () => Date.now() - t0,
    });
    const batch = Math.max(1, Math.round(opts.ticksPerSecond / 10));
    stack.feeder.start(batch, 100);
    rest.start();
    for (const c of clients) c.churn();
    timers.push(
      setInterval(() => sampleRss(stack, peakRss, crashed, opts.maxRssMb, violations), 2000),
      setInterval(
        () =>
          void stored
            .refresh()
            .then(() => check.run(clients))
            .catch(() => undefined),
        CHECK_EVERY_MS,
      ),
      setInterval(
        () =>
          log(
            `chaos: ${((Date.now() - t0) / 1000).toFixed(0)}s, ${stack.feeder.accepted.size} accepted, ` +
              `${check.deliveries} deliveries checked, ${injector.timeline.length} faults`,
          ),
        30_000,
      ),
    );

    const schedule = makeSchedule({
      seed: opts.seed,
      startMs: 2000,
      endMs: durationMs,
      meanGapMs: opts.meanFaultGapMs,
    });
    const applied = schedule.map(
      (f) =>
        new Promise<void>((resolve) => {
          timers.push(setTimeout(() => void injector.apply(f).then(resolve), f.at));
        }),
    );
    await orAbort(Promise.all(applied));
    await orAbort(new Promise((r) => setTimeout(r, Math.max(0, t0 + durationMs - Date.now()))));
    const lastFaultEnd = Date.now();
    log(
      `chaos: ${schedule.length} faults done at ${((lastFaultEnd - t0) / 1000).toFixed(0)}s; ` +
        'load stops, waiting for convergence',
    );

    await stack.feeder.stop();
    for (const c of clients) c.calm();
    let latest: Map<string, number> | undefined;
    try {
      await waitFor(
        async () => {
          for (const [service, count] of Object.entries(SERVICES))
            if ((await stack.registered(service)).length !== count) return false;
          if ((await queueDepth(stack.topology.store)) !== 0) return false;
          await stored.refresh();
          if (![...stack.feeder.accepted].every((k) => stored.seqOf.has(`${k}|grpc`))) return false;
          latest ??= new Map(SYMBOLS.map((s) => [s, stored.latest(s)]));
          return check.current(clients, latest);
        },
        opts.convergeMs,
        'convergence',
        250,
      );
      convergedMs = Date.now() - lastFaultEnd;
    } catch {
      violations.push(
        `no convergence within ${opts.convergeMs / 1000} s of the last fault: ` +
          (await convergenceState(stack, clients, stored)),
      );
    }
    await rest.stop();
    // Nothing arrives after the last read of the store.
    for (const c of clients) c.stop();

    // The final check: every accepted tick stored once, what clients got, answers, memory, crashes.
    await stored.refresh();
    const storedGrpc = [...stored.seqOf.keys()]
      .filter((k) => k.endsWith('|grpc'))
      .map((k) => k.slice(0, -'|grpc'.length));
    const storedSet = new Set(storedGrpc);
    const lost = [...stack.feeder.accepted].filter((k) => !storedSet.has(k));
    if (lost.length > 0)
      violations.push(`${lost.length} accepted tick(s) not stored, e.g. ${lost.slice(0, 3).join(', ')}`);
    const extra = storedGrpc.filter((k) => !stack.feeder.accepted.has(k) && !stack.feeder.unsure.has(k));
    if (extra.length > 0)
      violations.push(`${extra.length} stored gRPC tick(s) never sent, e.g. ${extra.slice(0, 3).join(', ')}`);
    const [{ rows, distinct } = { rows: '0', distinct: '0' }] = await stack.sql<{ rows: string; distinct: string }[]>`
      SELECT count(*) AS rows, count(DISTINCT (symbol, "timestamp", source)) AS distinct
      FROM ${stack.sql(stack.schema)}.ticks`;
    if (rows !== distinct) violations.push(`ticks stored twice: ${rows} rows, ${distinct} distinct`);
    const deadLetters = await queueDepth(`${stack.topology.store}.dlq`).catch(() => 0);
    if (deadLetters > 0) violations.push(`${deadLetters} message(s) dead-lettered`);
    check.run(clients, { latest: latest ?? new Map(SYMBOLS.map((s) => [s, stored.latest(s)])) });
    sampleRss(stack, peakRss, crashed, opts.maxRssMb, violations);
    violations.push(...check.violations, ...rest.tally.violations);
    if (opts.trace) {
      for (const i of new Set(check.violations.map((v) => /^client (\d+)/.exec(v)?.[1]).filter(Boolean))) {
        writeFileSync(`/tmp/chaos-trace-${opts.seed}-${i}.log`, clients[Number(i)]!.trace!.join('\n'));
      }
    }

    const faultsByKind: Record<string, number> = {};
    for (const e of injector.timeline) {
      const kind =
        e.fault.kind === 'kill'
          ? `kill ${e.fault.target.replace(/-\d$/, '')}`
          : e.fault.kind === 'broker-close'
            ? e.fault.kind
            : `${e.fault.kind} ${e.fault.proxy}`;
      faultsByKind[kind] = (faultsByKind[kind] ?? 0) + 1;
    }
    return {
      seed: opts.seed,
      minutes: opts.minutes,
      clients: opts.clients,
      faults: injector.timeline.length,
      faultsByKind,
      accepted: stack.feeder.accepted.size,
      storedUnsure: storedGrpc.filter((k) => !stack.feeder.accepted.has(k)).length,
      stored: stored.size,
      deliveries: check.deliveries,
      clientReconnects: clients.reduce((n, c) => n + c.reconnects, 0),
      rest: {
        ok: rest.tally.ok,
        unavailable: rest.tally.unavailable,
        other: rest.tally.other,
        gatewayDown: rest.tally.gatewayDown,
      },
      peakRssMb: Object.fromEntries([...peakRss].map(([k, v]) => [k, Math.round(v / 1024 / 1024)])),
      convergedMs,
      violations,
      timeline: injector.format() || schedule.map(describeFault).join('\n'),
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const c of clients) c.stop();
    await rest?.stop();
    await stack.close();
  }
}

function sampleRss(
  stack: Stack,
  peak: Map<string, number>,
  crashed: Set<string>,
  maxRssMb: number,
  violations: string[],
): void {
  for (const p of [stack.registry, stack.ingestion, ...stack.gateways, ...stack.providers, ...stack.retired]) {
    const report = p.crashReport();
    if (report && !crashed.has(p.name)) {
      crashed.add(p.name);
      violations.push(`crashed: ${report.slice(0, 2000)}`);
    }
    if (!p.alive) continue;
    let rss = 0;
    try {
      rss = p.rss();
    } catch {
      continue;
    }
    if (rss > (peak.get(p.name) ?? 0)) peak.set(p.name, rss);
    if (rss > maxRssMb * 1024 * 1024 && !crashed.has(`rss:${p.name}`)) {
      crashed.add(`rss:${p.name}`);
      violations.push(`${p.name} RSS ${Math.round(rss / 1024 / 1024)} MB over the ${maxRssMb} MB bound`);
    }
  }
}

async function convergenceState(stack: Stack, clients: SoakClient[], stored: StoredTicks): Promise<string> {
  const parts: string[] = [];
  for (const service of Object.keys(SERVICES))
    parts.push(`${service} ${(await stack.registered(service).catch(() => [])).length}`);
  parts.push(`store queue ${await queueDepth(stack.topology.store).catch(() => -1)}`);
  parts.push(`${[...stack.feeder.accepted].filter((k) => !stored.seqOf.has(`${k}|grpc`)).length} accepted not stored`);
  parts.push(`${clients.filter((c) => !c.connected).length} clients disconnected`);
  const behind = clients.filter((c) =>
    [...c.open.values()].some((e) => (e.lastSeq ?? 0) < stored.latest(e.symbol) - 50),
  ).length;
  parts.push(`${behind} clients behind`);
  return parts.join(', ');
}
