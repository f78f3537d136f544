export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** Largest ceiling. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0 = the first): exponential back-off with equal jitter. The ceiling
 * doubles from `baseMs` up to `maxMs`; the delay is half the ceiling plus a random part of the other half, so
 * callers that failed at the same moment spread out, and none retries sooner than half the ceiling.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return ceiling / 2 + random() * (ceiling / 2);
}
