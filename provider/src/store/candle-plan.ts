/** Widths of the rollups kept in `candles`, coarsest first; each divides the next coarser one. */
export const ROLLUP_SECONDS = [86_400, 3_600, 60] as const;

/** One stretch of a candle range and what answers it: the rollups of `seconds`, or raw ticks (`seconds` 0). */
export interface CandleSource {
  seconds: number;
  from: Date;
  to: Date;
}

/**
 * Splits `[from, to)` into stretches each answered by the coarsest data that covers it whole: rollups whose buckets
 * lie entirely inside the stretch and inside one candle of `intervalSeconds`, raw ticks for what is left at the edges
 * (less than a minute on each side: the open minute when the range reaches now). Buckets are aligned to the epoch,
 * as date_bin with origin 2000-01-01 UTC aligns them, so a rollup bucket never straddles a candle.
 */
export function planCandleRead(intervalSeconds: number, from: Date, to: Date): CandleSource[] {
  const widths = ROLLUP_SECONDS.filter((s) => s <= intervalSeconds && intervalSeconds % s === 0);
  return split(from.getTime(), to.getTime(), widths).map((p) => ({
    seconds: p.seconds,
    from: new Date(p.from),
    to: new Date(p.to),
  }));
}

function split(from: number, to: number, widths: readonly number[]): { seconds: number; from: number; to: number }[] {
  if (from >= to) return [];
  const [width, ...finer] = widths;
  if (width === undefined) return [{ seconds: 0, from, to }];
  const ms = width * 1000;
  const first = Math.ceil(from / ms) * ms;
  const last = Math.floor(to / ms) * ms;
  if (first >= last) return split(from, to, finer);
  return [...split(from, first, finer), { seconds: width, from: first, to: last }, ...split(last, to, finer)];
}
