// Registry: resolve and heartbeat throughput with 1,000 registered instances (vs /health of the same process),
// and heap memory per registered instance.
import { request } from 'undici';
import { mainOf, isMain, type Bench } from './harness/bench-runner.js';
import { assertAllOk, measureThroughput, type ThroughputResult } from './harness/http-load.js';
import { scrapeCounter } from './harness/metrics.js';
import { benchScript } from './harness/paths.js';
import { ratioFigure, valueFigure } from './harness/results.js';
import { ProcessGroup, registerInstance, type ServiceProcess } from './harness/services.js';
import { startRegistry } from './harness/stack.js';

export const registryBench: Bench = async ({ quick, run }) => {
  const instances = quick ? 100 : 1000;
  const services = quick ? 5 : 50;
  const durationS = quick ? 1 : 5;
  const connections = 32;
  const group = new ProcessGroup();
  try {
    const registry = await startRegistry(group, {});
    const gcRegistry = await group.start({
      name: 'registry (memory)',
      script: `${registry.child.spawnargs.at(-1)}`,
      nodeArgs: ['--expose-gc', '--import', benchScript('servers/gc-on-signal.js')],
      env: { LEASE_TTL_MS: '600000' },
    });
    const serviceIds = Array.from({ length: services }, (_, i) => `bench-${run}-${String(i).padStart(2, '0')}`);
    const ids: [string, string][] = [];
    const heapBefore = await liveHeap(gcRegistry);
    for (let i = 0; i < instances; i++) {
      const serviceId = serviceIds[i % services]!;
      ids.push([serviceId, await registerInstance(registry.url, serviceId, 10_000 + i)]);
      await registerInstance(gcRegistry.url, serviceId, 10_000 + i);
    }
    const heapAfter = await liveHeap(gcRegistry);
    await gcRegistry.stop();

    const checks: string[] = [];
    const countAll = async () => {
      let n = 0;
      for (const id of serviceIds) {
        const res = await request(`${registry.url}/services/${id}`);
        n += ((await res.body.json()) as { instance_count: number }).instance_count;
      }
      return n;
    };
    if ((await countAll()) !== instances) throw new Error('registered instances not all listed');
    checks.push(`${instances} instances registered over ${services} services, all listed by GET /services/:id`);

    let r = 0;
    let h = 0;
    const load = async (
      label: string,
      path: string | (() => string),
      method: 'GET' | 'PUT' = 'GET',
    ): Promise<ThroughputResult> => {
      await measureThroughput({ url: registry.url, path, method, connections, durationS: quick ? 0.3 : 1 });
      const res = await measureThroughput({ url: registry.url, path, method, connections, durationS });
      assertAllOk(label, res);
      checks.push(`${label}: ${res.requests} requests, all 2xx`);
      return res;
    };
    const health = await load('GET /health', '/health');
    const resolve = await load(
      'resolve GET /services/:id (20 instances each)',
      () => `/services/${serviceIds[r++ % services]}`,
    );
    const heartbeat = await load(
      'heartbeat PUT /services/:id/:instance/heartbeat',
      () => {
        const [s, id] = ids[h++ % ids.length]!;
        return `/services/${s}/${id}/heartbeat`;
      },
      'PUT',
    );
    if ((await countAll()) !== instances) throw new Error('instances lost during the heartbeat run');
    checks.push(
      `after the runs all ${instances} instances are still listed ` +
        '(a heartbeat for an unknown instance would have been a 404)',
    );

    const baseline = { name: 'GET /health (same process)', value: health.requestsPerSec };
    const perInstance = (heapAfter - heapBefore) / instances;
    return {
      config: {
        instances,
        services,
        connections,
        durationS,
        memory: 'V8 heap used after a full GC (--expose-gc, SIGUSR2), before and after registering',
      },
      figures: [
        ratioFigure(`resolve with ${instances} instances`, resolve.requestsPerSec, 'req/s', baseline),
        ratioFigure(`heartbeat with ${instances} instances`, heartbeat.requestsPerSec, 'req/s', baseline),
        valueFigure('heap per registered instance', perInstance, 'bytes'),
        valueFigure('resolve p99 under load', resolve.latencyP99Ms, 'ms'),
      ],
      checks,
    };
  } finally {
    await group.stopAll();
  }
};

/** V8 heap in use after a full GC, read from the process's /metrics (admin listener). */
async function liveHeap(p: ServiceProcess): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    p.child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 150));
    readings.push(await scrapeCounter(p, 'nodejs_heap_size_used_bytes'));
  }
  return Math.min(...readings);
}

if (isMain(import.meta.url)) await mainOf('registry', registryBench);
