// The price store's SQL from before ticks were partitioned and candles rolled up (schema of migration 001): the
// oracle the candle property test compares the rollups with, and the baseline of the history-scale bench.

/** OHLC candles over raw ticks. $1 symbol, $2 interval in seconds, $3 from, $4 to. */
export const UNPARTITIONED_CANDLES_SQL = `
  SELECT date_bin(make_interval(secs => $2), "timestamp", TIMESTAMPTZ '2000-01-01 00:00:00+00') AS start,
         (array_agg(price ORDER BY "timestamp", seq))[1] AS open,
         max(price) AS high,
         min(price) AS low,
         (array_agg(price ORDER BY "timestamp" DESC, seq DESC))[1] AS close,
         sum(volume)::text AS volume,
         count(*)::text AS ticks
    FROM ticks
   WHERE symbol = $1 AND "timestamp" >= $3 AND "timestamp" < $4
   GROUP BY 1 ORDER BY 1`;

/** The latest tick of each symbol. $1 symbols. */
export const UNPARTITIONED_LATEST_SQL = `
  SELECT t.symbol, t.source, t."timestamp", t.price, t.volume, t.published_at, t.seq
    FROM unnest($1::text[]) AS s(symbol)
   CROSS JOIN LATERAL (
     SELECT symbol, source, "timestamp", price, volume, published_at, seq FROM ticks
      WHERE ticks.symbol = s.symbol
      ORDER BY "timestamp" DESC, seq DESC LIMIT 1) t`;

/** Ticks of one symbol in a range, oldest first. $1 symbol, $2 from, $3 to, $4 limit. */
export const UNPARTITIONED_HISTORY_SQL = `
  SELECT symbol, source, "timestamp", price, volume, published_at, seq FROM ticks
   WHERE symbol = $1 AND "timestamp" >= $2 AND "timestamp" < $3
   ORDER BY "timestamp", seq LIMIT $4`;

/** The writer's batch insert. $1..$6: symbols, sources, ISO timestamps, prices, volumes, ISO published_at. */
export const UNPARTITIONED_INSERT_SQL = `
  INSERT INTO ticks (symbol, source, "timestamp", price, volume, published_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]::timestamptz[], $4::float8[], $5::int8[],
                       $6::text[]::timestamptz[])
  ON CONFLICT DO NOTHING
  RETURNING symbol, source, "timestamp", price, volume, published_at, seq`;

/** The writer's symbol upsert. $1 symbols, $2 ISO time of each one's latest tick in the batch. */
export const UNPARTITIONED_SYMBOLS_SQL = `
  INSERT INTO symbols (symbol, last_tick_at)
  SELECT * FROM unnest($1::text[], $2::text[]::timestamptz[])
  ON CONFLICT (symbol) DO UPDATE SET last_tick_at = greatest(symbols.last_tick_at, excluded.last_tick_at)`;
