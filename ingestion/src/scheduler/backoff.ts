/** Exponential backoff with "equal jitter": half the delay fixed, half random, capped at `maxMs`. */
export function backoffDelay(consecutiveFailures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (consecutiveFailures <= 0) return 0;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(consecutiveFailures - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
