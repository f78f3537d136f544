import autocannon from 'autocannon';
import { Client } from 'undici';

export interface ThroughputResult {
  requestsPerSec: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export interface ThroughputOptions {
  url: string;
  /** Path of each request; called per request when a function (e.g. a unique query). */
  path: string | (() => string);
  connections: number;
  durationS: number;
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
}

/** Drives `url` with autocannon (this process; the server is another process) and checks every answer was 2xx. */
export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const pathOf = opts.path;
  const method = opts.method ?? 'GET';
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationS,
    headers: opts.headers ?? {},
    requests: [
      typeof pathOf === 'string'
        ? { method, path: pathOf }
        : { method, setupRequest: (req) => ({ ...req, path: pathOf() }) },
    ],
  });
  const requests = result['2xx'] + result.non2xx;
  return {
    requestsPerSec: requests / (result.duration || opts.durationS),
    requests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/** Throws when a run had any non-2xx answer, error or timeout: a fast wrong answer must not pass. */
export function assertAllOk(label: string, r: ThroughputResult): void {
  if (r.requests === 0 || r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
    throw new Error(`${label}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  }
}

export interface LatencyResult {
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

/** One keep-alive connection, one request at a time, for `durationMs`: unloaded latency at µs resolution. */
export async function measureLatency(origin: string, path: string, durationMs: number, headers: Record<string, string> = {}): Promise<LatencyResult> {
  const client = new Client(origin, { pipelining: 1 });
  const samples: number[] = [];
  try {
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      const start = process.hrtime.bigint();
      const res = await client.request({ method: 'GET', path, headers });
      await res.body.dump();
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (res.statusCode >= 300) throw new Error(`latency probe ${origin}${path}: status ${res.statusCode}`);
      samples.push(elapsed);
    }
  } finally {
    await client.close();
  }
  return { samples: samples.length, p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99) };
}

/** The p-quantile (0..1) of unsorted values (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
