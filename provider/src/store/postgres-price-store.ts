import postgres, { type Sql } from 'postgres';
import { seqAfter, type NewTick, type StoredTick } from '../ticks/tick-schema.js';
import { migrate } from './migrate.js';
import type { Candle, PriceRepository, PriceStore, SymbolInfo, TickWriter, WriteResult } from './price-repository.js';

interface TickRow {
  symbol: string;
  source: string;
  timestamp: Date;
  price: number;
  volume: string | null;
  published_at: Date | null;
  seq: string;
}

const TICK_COLUMNS = 'symbol, source, "timestamp", price, volume, published_at, seq';

function toStoredTick(r: TickRow): StoredTick {
  return {
    symbol: r.symbol,
    source: r.source,
    timestamp: r.timestamp,
    price: r.price,
    volume: r.volume === null ? null : Number(r.volume),
    publishedAt: r.published_at,
    seq: r.seq,
  };
}

/** Read-side queries; the connection it is given runs every transaction read-only. */
export class PostgresPriceRepository implements PriceRepository {
  constructor(private readonly sql: Sql) {}

  async knownSymbols(symbols: string[]): Promise<Set<string>> {
    if (symbols.length === 0) return new Set();
    const rows = await this.sql<{ symbol: string }[]>`SELECT symbol FROM symbols WHERE symbol = ANY(${symbols}::text[])`;
    return new Set(rows.map((r) => r.symbol));
  }

  async listSymbols(): Promise<SymbolInfo[]> {
    const rows = await this.sql<{ symbol: string; first_seen_at: Date; last_tick_at: Date }[]>`
      SELECT symbol, first_seen_at, last_tick_at FROM symbols ORDER BY symbol`;
    return rows.map((r) => ({ symbol: r.symbol, firstSeenAt: r.first_seen_at, lastTickAt: r.last_tick_at }));
  }

  async latest(symbols: string[]): Promise<StoredTick[]> {
    if (symbols.length === 0) return [];
    // One index probe per symbol (ticks_symbol_time_idx), however long the history.
    const rows = await this.sql.unsafe<TickRow[]>(
      `SELECT t.${TICK_COLUMNS.split(', ').join(', t.')}
         FROM unnest($1::text[]) AS s(symbol)
         CROSS JOIN LATERAL (
           SELECT ${TICK_COLUMNS} FROM ticks
            WHERE ticks.symbol = s.symbol
            ORDER BY "timestamp" DESC, seq DESC LIMIT 1) t`,
      [symbols],
    );
    return rows.map(toStoredTick);
  }

  async ticksAfter(opts: { after: string; upTo?: string; symbols?: string[]; limit: number }): Promise<StoredTick[]> {
    const rows = await this.sql.unsafe<TickRow[]>(
      `SELECT ${TICK_COLUMNS} FROM ticks
        WHERE seq > $1::bigint
          AND ($2::bigint IS NULL OR seq <= $2::bigint)
          AND ($3::text[] IS NULL OR symbol = ANY($3::text[]))
        ORDER BY seq LIMIT $4`,
      [opts.after, opts.upTo ?? null, opts.symbols ?? null, opts.limit],
    );
    return rows.map(toStoredTick);
  }

  async maxSeq(): Promise<string> {
    const [row] = await this.sql<{ max: string | null }[]>`SELECT max(seq)::text AS max FROM ticks`;
    return row?.max ?? '0';
  }

  async history(symbol: string, from: Date, to: Date, limit: number): Promise<StoredTick[]> {
    const rows = await this.sql.unsafe<TickRow[]>(
      `SELECT ${TICK_COLUMNS} FROM ticks
        WHERE symbol = $1 AND "timestamp" >= $2 AND "timestamp" < $3
        ORDER BY "timestamp", seq LIMIT $4`,
      [symbol, from.toISOString(), to.toISOString(), limit],
    );
    return rows.map(toStoredTick);
  }

  async candles(symbol: string, intervalSeconds: number, from: Date, to: Date): Promise<Candle[]> {
    const rows = await this.sql.unsafe<
      { start: Date; open: number; high: number; low: number; close: number; volume: string | null; ticks: string }[]
    >(
      `SELECT date_bin(make_interval(secs => $2), "timestamp", TIMESTAMPTZ '2000-01-01 00:00:00+00') AS start,
              (array_agg(price ORDER BY "timestamp", seq))[1] AS open,
              max(price) AS high,
              min(price) AS low,
              (array_agg(price ORDER BY "timestamp" DESC, seq DESC))[1] AS close,
              sum(volume)::text AS volume,
              count(*)::text AS ticks
         FROM ticks
        WHERE symbol = $1 AND "timestamp" >= $3 AND "timestamp" < $4
        GROUP BY 1 ORDER BY 1`,
      [symbol, intervalSeconds, from.toISOString(), to.toISOString()],
    );
    return rows.map((r) => ({
      start: r.start,
      open: r.open,
      high: r.high,
      low: r.low,
      close: r.close,
      volume: r.volume === null ? null : Number(r.volume),
      ticks: Number(r.ticks),
    }));
  }

  async ping(): Promise<void> {
    await this.sql`SELECT 1`;
  }
}

/** The worker's writer: one multi-row idempotent insert per batch, seq assigned in commit order. */
export class PostgresTickWriter implements TickWriter {
  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
  ) {}

  async write(ticks: NewTick[]): Promise<WriteResult> {
    if (ticks.length === 0) return { inserted: [] };
    const lastTick = new Map<string, Date>();
    for (const t of ticks) {
      const seen = lastTick.get(t.symbol);
      if (!seen || seen < t.timestamp) lastTick.set(t.symbol, t.timestamp);
    }
    const symbols = [...lastTick.keys()];
    // The three statements go out together (one round trip between BEGIN and COMMIT). Writers take turns at the
    // lock, so seq values are handed out in the order transactions commit: a reader that sees seq N can never
    // later see a smaller one appear. Timestamps go as ISO text arrays cast by the server: typed timestamptz[],
    // postgres.js would parse and format every element again.
    const [, rows] = await this.sql.begin((tx) => [
      tx`SELECT pg_advisory_xact_lock(hashtext(${`lizards.ticks.${this.schema}`}))`,
      tx.unsafe<TickRow[]>(
        `INSERT INTO ticks (symbol, source, "timestamp", price, volume, published_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[]::timestamptz[], $4::float8[], $5::int8[], $6::text[]::timestamptz[])
         ON CONFLICT DO NOTHING
         RETURNING ${TICK_COLUMNS}`,
        [
          ticks.map((t) => t.symbol),
          ticks.map((t) => t.source),
          ticks.map((t) => t.timestamp.toISOString()),
          ticks.map((t) => t.price),
          ticks.map((t) => (t.volume === null ? null : String(t.volume))),
          ticks.map((t) => t.publishedAt?.toISOString() ?? null),
        ],
      ),
      tx.unsafe(
        `INSERT INTO symbols (symbol, last_tick_at)
         SELECT * FROM unnest($1::text[], $2::text[]::timestamptz[])
         ON CONFLICT (symbol) DO UPDATE SET last_tick_at = greatest(symbols.last_tick_at, excluded.last_tick_at)`,
        [symbols, symbols.map((s) => lastTick.get(s)!.toISOString())],
      ),
    ]);
    const inserted = rows.map(toStoredTick).sort((a, b) => (seqAfter(a.seq, b.seq) ? 1 : -1));
    return { inserted };
  }
}

export interface PostgresStoreOptions {
  url: string;
  /** The read side's connection string (e.g. a read-only role); defaults to `url`. */
  readUrl?: string;
  schema: string;
  readPoolSize?: number;
  writePoolSize?: number;
  kind?: PriceStore['kind'];
  /** One connection for both sides (an embedded server with a single backend: session settings would leak between connections). */
  singleConnection?: boolean;
  onClose?: () => Promise<void>;
}

/** Connects the writer and the read-only reader, applies migrations, and returns the store. */
export async function openPostgresPriceStore(opts: PostgresStoreOptions): Promise<PriceStore> {
  const common = { onnotice: () => {}, connect_timeout: 10, idle_timeout: 30 } as const;
  const writer = postgres(opts.url, {
    ...common,
    max: opts.singleConnection ? 1 : (opts.writePoolSize ?? 2),
    connection: { search_path: opts.schema, application_name: 'lizards-provider-writer' },
  });
  const reader = opts.singleConnection
    ? writer
    : postgres(opts.readUrl ?? opts.url, {
    ...common,
    max: opts.readPoolSize ?? 4,
    connection: {
      search_path: opts.schema,
      application_name: 'lizards-provider-reader',
      default_transaction_read_only: true,
    },
  });
  try {
    await migrate(writer, opts.schema);
  } catch (err) {
    await Promise.allSettled([writer.end({ timeout: 1 }), reader.end({ timeout: 1 })]);
    throw err;
  }
  return {
    kind: opts.kind ?? 'postgres',
    repository: new PostgresPriceRepository(reader),
    writer: new PostgresTickWriter(writer, opts.schema),
    async close() {
      await Promise.allSettled([writer.end({ timeout: 5 }), reader.end({ timeout: 5 })]);
      await opts.onClose?.();
    },
  };
}
