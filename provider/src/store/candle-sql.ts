// Candles as partial candles merged per bucket. A stored rollup is a partial candle, and so is a single tick (a candle
// of
// itself); partials of one bucket merge exactly because open and close are tick_points, ordered by ("timestamp", seq).
// The writer merges the ticks it inserts into the rollups; a read merges rollups and raw ticks into the candles asked
// for.
import type { CandleSource } from './candle-plan.js';

/** date_bin's origin for every bucket, as in the candle query before the rollups. */
export const CANDLE_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";

/** The columns of a partial candle, after (symbol, seconds, start). */
export const PART_COLUMNS = 'open, high, low, close, volume, ticks';

/** A row of `ticks` as a partial candle: its own open and close. */
export const TICK_AS_PART = `("timestamp", seq, price)::tick_point AS open, price AS high, price AS low,
  ("timestamp", seq, price)::tick_point AS close, volume::numeric AS volume, 1::bigint AS ticks`;

/**
 * Aggregates merging the partial candles of a group into one: the earliest open and the latest close (tick_points
 * compare by time, then seq; min/max over one-element arrays since there is no min(record)), extremes, sums.
 */
export const MERGE_PARTS = `(min(ARRAY[open]))[1] AS open, max(high) AS high, min(low) AS low,
  (max(ARRAY[close]))[1] AS close, sum(volume) AS volume, sum(ticks)::bigint AS ticks`;

/**
 * The writer's rollup step: `inserted` (the rows the batch really inserted) merged into the 1-minute candles, and the
 * batch's minutes merged further into the hour and day candles, each upserted onto what is stored.
 */
export const ROLLUP_INSERTED = `
  minutes AS (
    SELECT symbol, date_bin('60 seconds', "timestamp", ${CANDLE_ORIGIN}) AS start, ${MERGE_PARTS}
      FROM (SELECT symbol, "timestamp", ${TICK_AS_PART} FROM inserted) AS t
     GROUP BY 1, 2
  ),
  parts AS (
    SELECT symbol, 60 AS seconds, start, ${PART_COLUMNS} FROM minutes
    UNION ALL
    SELECT symbol, coarse.seconds, date_bin(make_interval(secs => coarse.seconds), start, ${CANDLE_ORIGIN}),
           ${MERGE_PARTS}
      FROM minutes CROSS JOIN (VALUES (3600), (86400)) AS coarse(seconds)
     GROUP BY 1, 2, 3
  ),
  rolled_up AS (
    INSERT INTO candles AS c (symbol, seconds, start, ${PART_COLUMNS})
    SELECT * FROM parts
    ON CONFLICT (symbol, seconds, start) DO UPDATE SET
      open   = least(c.open, excluded.open),
      high   = greatest(c.high, excluded.high),
      low    = least(c.low, excluded.low),
      close  = greatest(c.close, excluded.close),
      volume = CASE WHEN c.volume IS NULL THEN excluded.volume
                    WHEN excluded.volume IS NULL THEN c.volume
                    ELSE c.volume + excluded.volume END,
      ticks  = c.ticks + excluded.ticks
  )`;

/**
 * The candles of `$2` seconds of symbol `$1`: each source stretch reads rollups or raw ticks as partial candles (its
 * bounds are the parameters from `$3` on, in `params` order), and the partials merge per candle.
 */
export function candleReadSql(sources: CandleSource[]): { text: string; params: string[] } {
  const params: string[] = [];
  const bound = (d: Date) => {
    params.push(d.toISOString());
    return `$${params.length + 2}::timestamptz`;
  };
  const parts = sources.map((s) =>
    s.seconds === 0
      ? `SELECT "timestamp" AS start, ${TICK_AS_PART} FROM ticks
          WHERE symbol = $1 AND "timestamp" >= ${bound(s.from)} AND "timestamp" < ${bound(s.to)}`
      : `SELECT start, ${PART_COLUMNS} FROM candles
          WHERE symbol = $1 AND seconds = ${s.seconds} AND start >= ${bound(s.from)} AND start < ${bound(s.to)}`,
  );
  const text = `SELECT start, (open).price AS open, high, low, (close).price AS close, volume, ticks FROM (
      SELECT date_bin(make_interval(secs => $2), start, ${CANDLE_ORIGIN}) AS start, ${MERGE_PARTS}
        FROM (${parts.join('\n UNION ALL ')}) AS parts
       GROUP BY 1) AS merged
    ORDER BY start`;
  return { text, params };
}
