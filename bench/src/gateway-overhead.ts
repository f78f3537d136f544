// Gateway overhead: a trivial upstream hit directly, through nginx, through @fastify/http-proxy and through the
// gateway (Redis rate limit and metrics on, cache off), the load from wrk in its own process, same connections for all.
import { request } from 'undici';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { assertAllOk, percentile, type ThroughputResult } from './harness/http-load.js';
import { loadGenerator, type LoadGenerator } from './harness/load-generator.js';
import { findNginx, startNginx } from './harness/nginx.js';
import { benchScript } from './harness/paths.js';
import { packagePeer, peerLabel, type Skipped } from './harness/peers.js';
import { cpuMs, processTree } from './harness/process-stats.js';
import { ratioFigure, valueFigure, type Figure } from './harness/results.js';
import { ProcessGroup, registerInstance, type ServiceProcess } from './harness/services.js';
import { gatewayWorkersSupported, startGateway, startRegistry, waitForOk } from './harness/stack.js';

const PATH = '/symbols';

interface Target {
  label: string;
  service: ServiceProcess;
  /** The peer's name and version; undefined for Lizards code and the direct baseline. */
  peer?: string;
  /** The gateway's throughput target against this peer, as a ratio. */
  gatewayAtLeast?: number;
  /** Headers that prove the answer went through the limiter (and not the cache). */
  check?: (headers: Record<string, string | string[] | undefined>) => string | undefined;
}

interface Measured {
  target: Target;
  /** Requests per second of each round; the figure is their median. */
  rounds: number[];
  load: ThroughputResult[];
  /** CPU time of the target's processes per request, in µs, over all rounds. */
  cpuUsPerRequest: number;
  probeP50Ms: number;
}

export const gatewayOverhead: Bench = async ({ quick, run }) => {
  const durationS = quick ? 1 : 5;
  const rounds = quick ? 1 : 3;
  const probeS = quick ? 1 : 3;
  const connections = 32;
  const group = new ProcessGroup();
  const loadgen = await loadGenerator();
  const skipped: Skipped[] = [];
  try {
    const registry = await startRegistry(group);
    const upstream = await group.start({
      name: 'upstream',
      script: benchScript('servers/trivial-upstream.js'),
      env: {},
    });
    await registerInstance(registry.url, 'provider', upstream.port);

    const targets: Target[] = [{ label: 'direct', service: upstream }];
    const nginx = await findNginx();
    if (nginx) {
      targets.push({
        label: 'nginx',
        service: await startNginx(group, nginx.file, upstream.port, connections),
        peer: peerLabel(nginx.peer),
        gatewayAtLeast: 0.5,
      });
    } else {
      skipped.push({ name: 'nginx', reason: 'no nginx on PATH or in /usr/sbin (Debian: apt-get install nginx-light)' });
    }
    const [httpProxy, rateLimit] = [await packagePeer('@fastify/http-proxy'), await packagePeer('@fastify/rate-limit')];
    targets.push({
      label: '@fastify/http-proxy',
      service: await group.start({
        name: 'fastify-http-proxy',
        script: benchScript('servers/fastify-http-proxy.js'),
        env: { UPSTREAM_URL: upstream.url },
      }),
      peer: `${peerLabel(httpProxy)} + ${peerLabel(rateLimit)}`,
      gatewayAtLeast: 1,
      check: (h) => (h['x-ratelimit-limit'] === undefined ? 'no X-RateLimit-Limit header (limiter off?)' : undefined),
    });
    const gatewayCheck: Target['check'] = (h) =>
      h['x-cache'] !== undefined
        ? `X-Cache ${String(h['x-cache'])} (cache on?)`
        : h['ratelimit-limit'] === undefined
          ? 'no RateLimit-Limit header (limiter off?)'
          : undefined;
    const workers = gatewayWorkersSupported();
    const gateway = await startGateway(group, {
      registryUrl: registry.url,
      run,
      rateLimitStore: 'redis',
      cache: false,
      workers: workers ? 1 : undefined,
    });
    targets.push({ label: 'gateway', service: gateway, check: gatewayCheck });
    if (workers) {
      const gateway2 = await startGateway(group, {
        registryUrl: registry.url,
        run,
        rateLimitStore: 'redis',
        cache: false,
        workers: 2,
      });
      targets.push({ label: 'gateway, 2 workers', service: gateway2, check: gatewayCheck });
    } else {
      skipped.push({
        name: 'gateway 1 -> 2 workers',
        reason: "not available: the gateway's config declares no GATEWAY_WORKERS yet",
      });
    }
    for (const t of targets) await waitForOk(`${t.service.url}${PATH}`);

    const checks = [await checkAnswers(targets)];
    const measured = await measure(loadgen, targets, { connections, durationS, rounds, probeS, warmUp: !quick });
    for (const m of measured) {
      const total = m.load.reduce((a, r) => a + r.requests, 0);
      checks.push(
        `${m.target.label}: ${total} requests in ${rounds} rounds of ${durationS} s, all 2xx, 0 errors; ` +
          `${processTree(m.target.service.child.pid).length} process(es), ` +
          `${m.cpuUsPerRequest.toFixed(0)} µs CPU per request`,
      );
    }
    const by = (label: string) => measured.find((m) => m.target.label === label);
    const direct = by('direct')!;
    const gw = by('gateway')!;
    const rps = (m: Measured) => percentile(m.rounds, 0.5);
    const directRps = { name: 'direct', value: rps(direct) };
    const directP50 = { name: 'direct p50', value: direct.probeP50Ms };
    const peers = measured.filter((m) => m.target.peer);
    const figures: Figure[] = [valueFigure('throughput direct', rps(direct), 'req/s')];
    for (const m of peers) {
      figures.push({
        ...ratioFigure(`throughput via ${m.target.label}`, rps(m), 'req/s', directRps),
        peer: m.target.peer,
      });
    }
    figures.push(ratioFigure('throughput via gateway, Redis rate limit', rps(gw), 'req/s', directRps, { min: 0.5 }));
    for (const m of peers) {
      const target = m.target.gatewayAtLeast === undefined ? undefined : { min: m.target.gatewayAtLeast };
      figures.push({
        ...ratioFigure(
          `gateway vs ${m.target.label}`,
          rps(gw),
          'req/s',
          { name: m.target.label, value: rps(m) },
          target,
        ),
        peer: m.target.peer,
      });
    }
    const gw2 = by('gateway, 2 workers');
    if (gw2)
      figures.push(
        ratioFigure('gateway 2 workers vs 1 worker', rps(gw2), 'req/s', { name: 'gateway, 1 worker', value: rps(gw) }),
      );
    figures.push({
      ...valueFigure('added p50 latency via gateway (1 connection)', gw.probeP50Ms - direct.probeP50Ms, 'ms', {
        max: 0.3,
      }),
      baseline: directP50,
    });
    for (const m of peers) {
      figures.push({
        ...valueFigure(
          `added p50 latency via ${m.target.label} (1 connection)`,
          m.probeP50Ms - direct.probeP50Ms,
          'ms',
        ),
        baseline: directP50,
        peer: m.target.peer,
      });
    }
    for (const m of measured) {
      figures.push({
        ...valueFigure(
          `p99 latency under load, ${m.target.label}`,
          percentile(
            m.load.map((r) => r.latencyP99Ms),
            0.5,
          ),
          'ms',
        ),
        peer: m.target.peer,
      });
    }
    return {
      config: {
        connections,
        durationS,
        rounds,
        latencyProbeS: probeS,
        loadGenerator: peerLabel(loadgen.tool),
        upstream: 'bench/src/servers/trivial-upstream.ts GET /symbols',
        peers: targets.filter((t) => t.peer).map((t) => `${t.label}: ${t.peer}`),
        gatewayWorkers: workers ? [1, 2] : 'not available',
      },
      figures,
      checks,
      skipped,
    };
  } finally {
    await group.stopAll();
    await loadgen.close();
  }
};

/** Every target answers what the upstream answers, with its limiter's headers: a fast wrong answer must not count. */
async function checkAnswers(targets: Target[]): Promise<string> {
  const direct = await request(`${targets[0]!.service.url}${PATH}`).then((r) => r.body.text());
  for (const t of targets) {
    const res = await request(`${t.service.url}${PATH}`);
    const text = await res.body.text();
    const wrong =
      res.statusCode !== 200 ? `status ${res.statusCode}` : text !== direct ? `body ${text}` : t.check?.(res.headers);
    if (wrong) throw new Error(`${t.label} answered wrong: ${wrong}; direct: ${direct}`);
  }
  return (
    `every target's body equals the direct body (${targets.map((t) => t.label).join(', ')}); ` +
    'gateway: RateLimit-Limit present (limiter on), no X-Cache (cache off); @fastify/http-proxy: ' +
    'X-RateLimit-Limit present'
  );
}

/**
 * Warms every target up (unless quick), then loads them in turn for `rounds` rounds (interleaved, so a noisy neighbour
 * on the shared
 * machine hits them alike), then probes each with one connection for its unloaded p50 (wrk: µs resolution).
 */
async function measure(
  loadgen: LoadGenerator,
  targets: Target[],
  o: { connections: number; durationS: number; rounds: number; probeS: number; warmUp: boolean },
): Promise<Measured[]> {
  const measured: Measured[] = targets.map((target) => ({
    target,
    rounds: [],
    load: [],
    cpuUsPerRequest: 0,
    probeP50Ms: 0,
  }));
  const run = (t: Target, connections: number, durationS: number) =>
    loadgen.run({ url: t.service.url, path: PATH, connections, durationS });
  if (o.warmUp) for (const m of measured) await run(m.target, o.connections, 1);
  const cpu = measured.map(() => 0);
  for (let round = 0; round < o.rounds; round++) {
    for (const [i, m] of measured.entries()) {
      const before = cpuMs(m.target.service.child.pid);
      const r = await run(m.target, o.connections, o.durationS);
      cpu[i]! += cpuMs(m.target.service.child.pid) - before;
      assertAllOk(m.target.label, r);
      m.rounds.push(r.requestsPerSec);
      m.load.push(r);
    }
  }
  for (const [i, m] of measured.entries()) {
    m.cpuUsPerRequest = (cpu[i]! * 1000) / m.load.reduce((a, r) => a + r.requests, 0);
    const probe = await run(m.target, 1, o.probeS);
    assertAllOk(`${m.target.label} (1 connection)`, probe);
    m.probeP50Ms = probe.latencyP50Ms;
  }
  return measured;
}

if (isMain(import.meta.url)) await mainOf('gateway-overhead', gatewayOverhead);
