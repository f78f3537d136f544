export interface BackoffOptions {
  /** Ceiling of the first retry's delay (default 250 ms). */
  initialMs?: number;
  /** Largest ceiling (default 5000 ms). */
  maxMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 250, maxMs: 5000 };

/**
 * The delay before retry number `attempt` (0 = the first): exponential back-off with equal jitter. The ceiling
 * doubles from `initialMs` up to `maxMs`; the delay is half the ceiling plus a random part of the other half, so
 * clients cut at the same moment spread out, and none retries sooner than half the ceiling.
 */
export function equalJitterDelay(
  attempt: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs } = { ...DEFAULT_BACKOFF, ...opts };
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
  return ceiling / 2 + random() * (ceiling / 2);
}
