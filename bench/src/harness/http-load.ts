import autocannon from 'autocannon';

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
  return autocannonThroughput(result, opts.durationS);
}

/** The part of autocannon's result (in process, or its CLI's `--json`) a ThroughputResult is made of. */
export type AutocannonSummary = Pick<autocannon.Result, '2xx' | 'non2xx' | 'errors' | 'timeouts' | 'duration'> & {
  latency: { p50: number; p99: number };
};

/** autocannon's result as a ThroughputResult (every answer counted, 2xx or not). */
export function autocannonThroughput(result: AutocannonSummary, durationS: number): ThroughputResult {
  const requests = result['2xx'] + result.non2xx;
  return {
    requestsPerSec: requests / (result.duration || durationS),
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
    throw new Error(
      `${label}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`,
    );
  }
}

/** The p-quantile (0..1) of unsorted values (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
