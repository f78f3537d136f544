import { backoffDelay } from '../retry/backoff.js';
import { sleep } from '../retry/sleep.js';
import type { WatchResult } from './registry-client.js';

/** What a watch needs of the registry (RegistryClient fits). */
export interface RegistryWatchSource {
  watch(serviceId: string, index: number, waitMs: number, signal?: AbortSignal): Promise<WatchResult>;
}

export interface RegistryWatchOptions {
  source: RegistryWatchSource;
  serviceId: string;
  /** Blocking-query wait: changes arrive at once, and the list is re-read at least this often. */
  waitMs: number;
  /** First pause after a failed query; it doubles (equal jitter) on each failure in a row, up to `maxRetryMs`. */
  retryMs: number;
  /** Longest pause after a failed query (default 5 s, never below `retryMs`). */
  maxRetryMs?: number;
  /** Ends the loop and aborts the query in flight. */
  signal: AbortSignal;
  /** Each answer, in order. */
  onAnswer(result: WatchResult): void;
  /** Each failed query; `failures` counts them in a row (1 = the first of an outage). */
  onFailure(err: unknown, failures: number): void;
}

/**
 * Follows a service's membership with the registry's blocking queries until `signal` aborts. The first query, and
 * the first after a failure, answer at once; then each blocks until membership changes or the wait ends. After a
 * failure the index starts again from 0 (a restarted registry counts from 0 again). Resolves once aborted.
 */
export async function watchRegistry(opts: RegistryWatchOptions): Promise<void> {
  const { signal } = opts;
  const retry = { baseMs: opts.retryMs, maxMs: Math.max(opts.retryMs, opts.maxRetryMs ?? 5000) };
  let index = 0;
  let failures = 0;
  let answered = false;
  while (!signal.aborted) {
    const waitMs = answered && failures === 0 ? opts.waitMs : 0;
    const started = Date.now();
    let result: WatchResult;
    try {
      result = await opts.source.watch(opts.serviceId, index, waitMs, signal);
    } catch (err) {
      if (signal.aborted) return;
      opts.onFailure(err, ++failures);
      index = 0;
      await sleep(backoffDelay(failures - 1, retry), signal);
      continue;
    }
    if (signal.aborted) return;
    // A registry that answers a blocking query at once without a change must not make this loop spin.
    const spun = waitMs > 0 && result.index === index && Date.now() - started < waitMs / 2;
    answered = true;
    failures = 0;
    index = result.index;
    opts.onAnswer(result);
    if (spun) await sleep(opts.retryMs, signal);
  }
}
