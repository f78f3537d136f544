// Gateway overhead: a trivial upstream hit directly vs through the gateway (rate limiting on, cache off).
import { request } from 'undici';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { assertAllOk, measureLatency, measureThroughput } from './harness/http-load.js';
import { benchScript } from './harness/paths.js';
import { ratioFigure, valueFigure, type Figure } from './harness/results.js';
import { ProcessGroup, registerInstance } from './harness/services.js';
import { startGateway, startRegistry, waitForOk } from './harness/stack.js';

export const gatewayOverhead: Bench = async ({ quick, run }) => {
  const durationS = quick ? 1 : 8;
  const latencyMs = quick ? 300 : 3000;
  const connections = 32;
  const group = new ProcessGroup();
  try {
    const registry = await startRegistry(group);
    const upstream = await group.start({ name: 'upstream', script: benchScript('servers/trivial-upstream.js'), env: {} });
    await registerInstance(registry.url, 'provider', upstream.port);
    const gateways = {
      redis: await startGateway(group, { registryUrl: registry.url, run, rateLimitStore: 'redis', cache: false }),
      local: await startGateway(group, { registryUrl: registry.url, run, rateLimitStore: 'local', cache: false }),
    };
    for (const g of Object.values(gateways)) await waitForOk(`${g.url}/symbols`);

    const checks: string[] = [];
    const direct = await request(`${upstream.url}/symbols`).then((r) => r.body.text());
    for (const [name, g] of Object.entries(gateways)) {
      const res = await request(`${g.url}/symbols`);
      const text = await res.body.text();
      if (text !== direct || res.headers['x-cache'] !== undefined || res.headers['ratelimit-limit'] === undefined) {
        throw new Error(`gateway (${name}) answered ${res.statusCode} ${text} (x-cache ${String(res.headers['x-cache'])}), direct ${direct}`);
      }
    }
    checks.push('gateway body equals the direct body; no X-Cache header (cache off); RateLimit-Limit present (limiter on)');

    const load = async (label: string, url: string) => {
      await measureThroughput({ url, path: '/symbols', connections, durationS: quick ? 0.5 : 2 }); // warm-up
      const r = await measureThroughput({ url, path: '/symbols', connections, durationS });
      assertAllOk(label, r);
      checks.push(`${label}: ${r.requests} requests, all 2xx, 0 errors`);
      return r;
    };
    const directLoad = await load('direct', upstream.url);
    const redisLoad = await load('gateway (Redis rate limit)', gateways.redis.url);
    const localLoad = await load('gateway (local rate limit)', gateways.local.url);
    const directLat = await measureLatency(upstream.url, '/symbols', latencyMs);
    const redisLat = await measureLatency(gateways.redis.url, '/symbols', latencyMs);
    const localLat = await measureLatency(gateways.local.url, '/symbols', latencyMs);

    const directRps = { name: 'direct', value: directLoad.requestsPerSec };
    const directP50 = { name: 'direct p50', value: directLat.p50Ms };
    const figures: Figure[] = [
      ratioFigure('throughput via gateway, Redis rate limit', redisLoad.requestsPerSec, 'req/s', directRps, { min: 0.5 }),
      ratioFigure('throughput via gateway, local rate limit', localLoad.requestsPerSec, 'req/s', directRps, { min: 0.5 }),
      { ...valueFigure('added p50 latency, Redis rate limit', redisLat.p50Ms - directLat.p50Ms, 'ms', { max: 1 }), baseline: directP50 },
      { ...valueFigure('added p50 latency, local rate limit', localLat.p50Ms - directLat.p50Ms, 'ms', { max: 1 }), baseline: directP50 },
      valueFigure('p50 latency direct (1 connection)', directLat.p50Ms, 'ms'),
      valueFigure('p50 latency via gateway, Redis rate limit (1 connection)', redisLat.p50Ms, 'ms'),
      valueFigure('p99 latency direct under load', directLoad.latencyP99Ms, 'ms'),
      valueFigure('p99 latency via gateway under load, Redis rate limit', redisLoad.latencyP99Ms, 'ms'),
    ];
    return { config: { connections, durationS, latencyProbeMs: latencyMs, upstream: 'bench/src/servers/trivial-upstream.ts GET /symbols' }, figures, checks };
  } finally {
    await group.stopAll();
  }
};

if (isMain(import.meta.url)) await mainOf('gateway-overhead', gatewayOverhead);
