-- Ticks become range partitions of one UTC day each, so retention drops whole days, and candles are rolled up
-- per minute, hour and day in the writer's transaction, so a range reads rollups instead of every tick.
-- Existing rows move over unchanged, seq included; the identity sequence goes on where the old one stopped.

ALTER TABLE ticks RENAME TO ticks_unpartitioned;
ALTER SEQUENCE ticks_seq_seq RENAME TO ticks_unpartitioned_seq_seq;

-- The same columns. The natural key (now with "timestamp" second, so it also serves "one symbol, a time range") makes
-- redelivered ticks harmless; it holds across partitions because it includes the partition key. seq cannot be unique
-- on its own here (a unique index must include "timestamp"): it is unique because only the identity hands it out
-- (GENERATED ALWAYS), under the writers' advisory lock, in commit order.
CREATE TABLE ticks (LIKE ticks_unpartitioned INCLUDING DEFAULTS INCLUDING IDENTITY) PARTITION BY RANGE ("timestamp");

-- The partition holding one UTC day, named ticks_YYYYMMDD, made unless it exists. Created apart and then attached:
-- ATTACH takes SHARE UPDATE EXCLUSIVE on ticks, which readers and writers do not wait for (CREATE TABLE ...
-- PARTITION OF would take ACCESS EXCLUSIVE). Callers hold the advisory lock lizards.partitions.<schema>. Both
-- functions run in this schema whatever the caller's search_path (SET search_path FROM CURRENT).
CREATE FUNCTION ensure_tick_partition(day date) RETURNS boolean LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  part text := 'ticks_' || to_char(day, 'YYYYMMDD');
BEGIN
  IF to_regclass(quote_ident(part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE ticks INCLUDING DEFAULTS)', part);
  EXECUTE format('ALTER TABLE ticks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part,
                 day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
  RETURN true;
END $$;

-- Drops every partition whose day ended at or before `cutoff`; returns the names dropped.
CREATE FUNCTION drop_tick_partitions_before(cutoff timestamptz) RETURNS SETOF text LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  part text;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'ticks'::regclass AND c.relname ~ '^ticks_[0-9]{8}$'
       AND (to_date(substr(c.relname, 7), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff
     ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE %I', part);
    RETURN NEXT part;
  END LOOP;
END $$;

SELECT ensure_tick_partition(day)
  FROM (SELECT DISTINCT ("timestamp" AT TIME ZONE 'UTC')::date AS day FROM ticks_unpartitioned) AS days;

INSERT INTO ticks (symbol, source, "timestamp", price, volume, published_at, stored_at, seq) OVERRIDING SYSTEM VALUE
SELECT symbol, source, "timestamp", price, volume, published_at, stored_at, seq FROM ticks_unpartitioned;

-- Values the old sequence handed out (rolled-back and duplicate inserts use some up) are never handed out again.
SELECT setval(pg_get_serial_sequence('ticks', 'seq'), last_value, is_called) FROM ticks_unpartitioned_seq_seq;

DROP TABLE ticks_unpartitioned;

-- Built once over the copied rows (faster than row by row), then made for each new partition as it is attached.
ALTER TABLE ticks ADD PRIMARY KEY (symbol, "timestamp", source);
CREATE INDEX ticks_seq_idx ON ticks (seq);

-- A tick's place in time order and its price. Composite values compare field by field, so min/max/least/greatest
-- over them pick the earliest and the latest tick of a set by ("timestamp", seq): unique, so price never decides.
CREATE TYPE tick_point AS (ts timestamptz, seq bigint, price double precision);

-- OHLC rollups of 60, 3600 and 86400 seconds (buckets aligned as date_bin with origin 2000-01-01 UTC aligns them).
-- open and close are the bucket's earliest and latest tick as tick_points, so two partial candles of a bucket merge
-- exactly: the earlier open, the later close, the higher high, the lower low, the sums.
CREATE TABLE candles (
  symbol  text             NOT NULL,
  seconds integer          NOT NULL,
  start   timestamptz      NOT NULL,
  open    tick_point       NOT NULL,
  high    double precision NOT NULL,
  low     double precision NOT NULL,
  close   tick_point       NOT NULL,
  volume  numeric,
  ticks   bigint           NOT NULL,
  -- Covering: a range of candles is read from the index alone (a symbol's rows lie far apart in the heap).
  PRIMARY KEY (symbol, seconds, start) INCLUDE (open, high, low, close, volume, ticks)
);

-- min/max over one-element arrays: there is no min(record), but arrays compare element by element.
INSERT INTO candles
SELECT symbol, 60, date_bin('60 seconds', "timestamp", TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       (min(ARRAY[("timestamp", seq, price)::tick_point]))[1], max(price), min(price),
       (max(ARRAY[("timestamp", seq, price)::tick_point]))[1], sum(volume), count(*)
  FROM ticks GROUP BY 1, 3;

INSERT INTO candles
SELECT symbol, coarse.seconds, date_bin(make_interval(secs => coarse.seconds), start, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       (min(ARRAY[open]))[1], max(high), min(low), (max(ARRAY[close]))[1], sum(volume), sum(ticks)
  FROM candles CROSS JOIN (VALUES (3600), (86400)) AS coarse(seconds)
 WHERE candles.seconds = 60
 GROUP BY 1, 2, 3;
