-- Every stored price. The natural key makes redelivered ticks harmless (ON CONFLICT DO NOTHING);
-- seq is assigned under a transaction-scoped advisory lock, so its order is the commit order
-- and "everything after cursor N" is exact for resuming clients.
CREATE TABLE ticks (
  symbol       text             NOT NULL,
  source       text             NOT NULL,
  "timestamp"  timestamptz      NOT NULL,
  price        double precision NOT NULL,
  volume       bigint,
  published_at timestamptz,
  stored_at    timestamptz      NOT NULL DEFAULT now(),
  seq          bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (symbol, source, "timestamp")
);

CREATE UNIQUE INDEX ticks_seq_idx ON ticks (seq);
-- latest per symbol and time range per symbol
CREATE INDEX ticks_symbol_time_idx ON ticks (symbol, "timestamp" DESC, seq DESC);

CREATE TABLE symbols (
  symbol        text        PRIMARY KEY,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_tick_at  timestamptz NOT NULL
);
