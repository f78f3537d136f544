import postgres, { type Sql } from 'postgres';
import { backoffDelay } from '@lizards/lib';
import { seqAfter, type NewTick, type StoredTick } from '../ticks/tick-schema.js';
import { planCandleRead } from './candle-plan.js';
import { ROLLUP_INSERTED, candleReadSql } from './candle-sql.js';
import { HistoryMaintenance, type Retention } from './history-maintenance.js';
import { migrate } from './migrate.js';
import type {
  Candle,
  HistoryPage,
  HistoryPosition,
  HistoryRepository,
  PriceRepository,
  PriceStore,
  SymbolInfo,
  TickKeyFields,
  TickWriter,
  WriteResult,
} from './price-repository.js';
import { TickPartitions } from './tick-partitions.js';
import { retryWhileUnavailable } from './store-availability.js';

/** A `ticks` row as postgres.js returns it. */
export interface TickRow {
  symbol: string;
  source: string;
  timestamp: Date;
  price: number;
  volume: string | null;
  published_at: Date | null;
  seq: string;
}

const TICK_COLUMNS = 'symbol, source, "timestamp", price, volume, published_at, seq';

export function toStoredTick(r: TickRow): StoredTick {
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

/** A candle as postgres.js returns it: the sums (numeric, bigint) as text. */
export interface CandleRow {
  start: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: string | null;
  ticks: string;
}

export function toCandle(r: CandleRow): Candle {
  return {
    start: r.start,
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: r.volume === null ? null : Number(r.volume),
    ticks: Number(r.ticks),
  };
}

/** A text[] literal of `values`, every element quoted (so any text goes through as it is). */
function textArray(values: string[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) literal += `${i === 0 ? '' : ','}"${values[i]!.replace(/[\\"]/g, '\\$&')}"`;
  return `${literal}}`;
}

/** An array literal of ISO times (of `toISOString`, which needs no quoting); the same Date is formatted once. */
function timeArray(values: (Date | null)[]): string {
  let literal = '{';
  let last: Date | null = null;
  let lastText = 'NULL';
  for (let i = 0; i < values.length; i++) {
    const d = values[i]!;
    if (d !== last) {
      last = d;
      lastText = d === null ? 'NULL' : d.toISOString();
    }
    literal += `${i === 0 ? '' : ','}${lastText}`;
  }
  return `${literal}}`;
}

/**
 * A batch as the insert's six array literals ($1..$6: symbol, source, timestamp, price, volume, published_at), built
 * here in one pass per column: postgres.js would quote and escape every element of every array (numbers and times
 * too), about half of the writer's own CPU per batch. Timestamps go as ISO text cast by the server.
 */
export function tickArrays(ticks: NewTick[]): string[] {
  return [
    textArray(ticks.map((t) => t.symbol)),
    textArray(ticks.map((t) => t.source)),
    timeArray(ticks.map((t) => t.timestamp)),
    `{${ticks.map((t) => t.price).join(',')}}`,
    `{${ticks.map((t) => t.volume ?? 'NULL').join(',')}}`,
    timeArray(ticks.map((t) => t.publishedAt)),
  ];
}

/**
 * Read-side queries; the connection it is given runs every transaction read-only. The store makes two: the live side
 * on the primary, the history side on the replica when there is one.
 */
export class PostgresPriceRepository implements PriceRepository, HistoryRepository {
  constructor(private readonly sql: Sql) {}

  async knownSymbols(symbols: string[]): Promise<Set<string>> {
    if (symbols.length === 0) return new Set();
    const rows = await this.sql<
      { symbol: string }[]
    >`SELECT symbol FROM symbols WHERE symbol = ANY(${symbols}::text[])`;
    return new Set(rows.map((r) => r.symbol));
  }

  async listSymbols(): Promise<SymbolInfo[]> {
    const rows = await this.sql<{ symbol: string; first_seen_at: Date; last_tick_at: Date }[]>`
      SELECT symbol, first_seen_at, last_tick_at FROM symbols ORDER BY symbol`;
    return rows.map((r) => ({ symbol: r.symbol, firstSeenAt: r.first_seen_at, lastTickAt: r.last_tick_at }));
  }

  async latest(symbols: string[]): Promise<StoredTick[]> {
    if (symbols.length === 0) return [];
    // One index probe per symbol, however long the history: the day partitions are read newest first and the scan
    // stops at the first row. Prepared (a generic plan): planning over every partition would cost more than the scan.
    const rows = await this.sql.unsafe<TickRow[]>(
      `SELECT t.${TICK_COLUMNS.split(', ').join(', t.')}
         FROM unnest($1::text[]) AS s(symbol)
         CROSS JOIN LATERAL (
           SELECT ${TICK_COLUMNS} FROM ticks
            WHERE ticks.symbol = s.symbol
            ORDER BY "timestamp" DESC, seq DESC LIMIT 1) t`,
      [symbols],
      { prepare: true },
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

  async whichStored(ticks: readonly TickKeyFields[]): Promise<TickKeyFields[]> {
    if (ticks.length === 0) return [];
    const rows = await this.sql.unsafe<{ symbol: string; source: string; timestamp: Date }[]>(
      `SELECT t.symbol, t.source, t."timestamp" FROM ticks t
         JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(symbol, source, at)
           ON t.symbol = k.symbol AND t."timestamp" = k.at AND t.source = k.source`,
      [ticks.map((t) => t.symbol), ticks.map((t) => t.source), ticks.map((t) => t.timestamp.toISOString())],
    );
    return rows;
  }

  async maxSeq(): Promise<string> {
    const [row] = await this.sql<{ max: string | null }[]>`SELECT max(seq)::text AS max FROM ticks`;
    return row?.max ?? '0';
  }

  async history(q: {
    symbol: string;
    from: Date;
    to: Date;
    limit: number;
    after?: HistoryPosition;
  }): Promise<HistoryPage> {
    // Keyset paging on ("timestamp", seq): a page starts at the range start, or just after the previous page's last
    // tick ($5 µs, $6 seq); "timestamp" >= that start bounds the index scan, the seq tie-break filters that one
    // instant.
    const start = `coalesce(TIMESTAMPTZ 'epoch' + $5::bigint * INTERVAL '1 microsecond', $2::timestamptz)`;
    const rows = await this.sql.unsafe<(TickRow & { at_micros: string })[]>(
      `SELECT ${TICK_COLUMNS}, (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS at_micros FROM ticks
        WHERE symbol = $1 AND "timestamp" >= $2 AND "timestamp" < $3
          AND "timestamp" >= ${start} AND ("timestamp" > ${start} OR seq > $6::bigint)
        ORDER BY "timestamp", seq LIMIT $4`,
      [q.symbol, q.from.toISOString(), q.to.toISOString(), q.limit + 1, q.after?.atMicros ?? null, q.after?.seq ?? '0'],
    );
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    return {
      ticks: page.map(toStoredTick),
      ...(more && last ? { next: { atMicros: last.at_micros, seq: last.seq } } : {}),
    };
  }

  async candles(symbol: string, intervalSeconds: number, from: Date, to: Date): Promise<Candle[]> {
    const { text, params } = candleReadSql(planCandleRead(intervalSeconds, from, to));
    const rows = await this.sql.unsafe<CandleRow[]>(text, [symbol, intervalSeconds, ...params]);
    return rows.map(toCandle);
  }

  async ping(): Promise<void> {
    await this.sql`SELECT 1`;
  }
}

/**
 * The worker's writer: one multi-row insert per batch, seq assigned in commit order, the inserted rows rolled up into
 * the candles in the same statement. Idempotent: a tick already stored is skipped.
 */
export class PostgresTickWriter implements TickWriter {
  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
    private readonly partitions: TickPartitions,
  ) {}

  async write(ticks: NewTick[]): Promise<WriteResult> {
    if (ticks.length === 0) return { inserted: [] };
    await this.partitions.cover(ticks.map((t) => t.timestamp.getTime()));
    try {
      return await this.insert(ticks);
    } catch (err) {
      // 23514 from this insert is "no partition of ticks for the row": another provider's retention dropped a day
      // this one still knew. The day is made again (its ticks go with the next retention run).
      if ((err as { code?: unknown }).code !== '23514') throw err;
      this.partitions.forget();
      await this.partitions.cover(ticks.map((t) => t.timestamp.getTime()));
      return this.insert(ticks);
    }
  }

  private async insert(ticks: NewTick[]): Promise<WriteResult> {
    const arrays = tickArrays(ticks);
    // Nearly every batch is new ticks: a plain insert costs ~10% less than ON CONFLICT's speculative insertion. A
    // stored tick (a redelivery) makes it fail whole with 23505, and the batch goes again skipping stored ticks.
    try {
      return await this.writeBatch(ticks, arrays, '');
    } catch (err) {
      if ((err as { code?: unknown }).code !== '23505') throw err;
      return this.writeBatch(ticks, arrays, 'ON CONFLICT DO NOTHING');
    }
  }

  private async writeBatch(ticks: NewTick[], arrays: string[], onConflict: string): Promise<WriteResult> {
    const lastTick = new Map<string, Date>();
    for (const t of ticks) {
      const seen = lastTick.get(t.symbol);
      if (!seen || seen < t.timestamp) lastTick.set(t.symbol, t.timestamp);
    }
    const symbols = [...lastTick.keys()];
    // One statement in its own transaction: one round trip (BEGIN, the statements and COMMIT would be three, each
    // waiting for the one before). Both writes read the lock's row, so the lock is taken before either writes: seq
    // values are handed out in commit order (writers take turns), and no writer waits for the lock while holding a
    // symbols row another one needs. Only rows really inserted reach the candles, so a redelivered tick is counted
    // once there too.
    const rows = await this.sql.unsafe<TickRow[]>(
      `WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtext($9))),
       inserted AS (
         INSERT INTO ticks (symbol, source, "timestamp", price, volume, published_at)
         SELECT t.* FROM locked, unnest($1::text[], $2::text[], $3::text[]::timestamptz[], $4::float8[], $5::int8[],
                                        $6::text[]::timestamptz[]) AS t
         ${onConflict}
         RETURNING ${TICK_COLUMNS}
       ),
       ${ROLLUP_INSERTED},
       latest AS (
         INSERT INTO symbols (symbol, last_tick_at)
         SELECT s.* FROM locked, unnest($7::text[], $8::text[]::timestamptz[]) AS s
         ON CONFLICT (symbol) DO UPDATE SET last_tick_at = greatest(symbols.last_tick_at, excluded.last_tick_at)
       )
       SELECT ${TICK_COLUMNS} FROM inserted`,
      [...arrays, textArray(symbols), timeArray(symbols.map((s) => lastTick.get(s)!)), `lizards.ticks.${this.schema}`],
    );
    const inserted = rows.map(toStoredTick).sort((a, b) => (seqAfter(a.seq, b.seq) ? 1 : -1));
    return { inserted };
  }
}

export interface PostgresStoreOptions {
  url: string;
  /**
   * A replica (or any other connection) for the history side: history, candles and the symbol list. Unset = the
   * primary. The live side (cursor, resume, snapshots) always reads the primary.
   */
  readUrl?: string;
  schema: string;
  /** Connections of each read pool (the primary's read-only one, and the replica's when there is one). */
  readPoolSize?: number;
  writePoolSize?: number;
  retention?: Retention;
  kind?: PriceStore['kind'];
  /**
   * One connection for everything (an embedded server with a single backend: session settings would leak between
   * connections).
   */
  singleConnection?: boolean;
  onClose?: () => Promise<void>;
}

/**
 * Seconds before a connection that failed tries again. postgres.js's default grows with the failures of the whole
 * pool since its last successful connect, up to 20 s: after an outage of a few seconds a read waited that long for a
 * reconnect, while the gateway gives up on the request after 10 s. Here it is capped at 1 s, with jitter so the
 * connections of the pools do not all knock at once.
 */
const reconnectDelayS = (failures: number): number => backoffDelay(failures, { baseMs: 50, maxMs: 1000 }) / 1000;

/** Connects the writer and the read-only readers, applies migrations, and returns the store. */
export async function openPostgresPriceStore(opts: PostgresStoreOptions): Promise<PriceStore> {
  const common = { onnotice: () => {}, connect_timeout: 10, idle_timeout: 30, backoff: reconnectDelayS } as const;
  const writer = postgres(opts.url, {
    ...common,
    max: opts.singleConnection ? 1 : (opts.writePoolSize ?? 2),
    connection: { search_path: opts.schema, application_name: 'lizards-provider-writer' },
  });
  const readPool = (url: string, applicationName: string) =>
    postgres(url, {
      ...common,
      max: opts.readPoolSize ?? 4,
      connection: { search_path: opts.schema, application_name: applicationName, default_transaction_read_only: true },
    });
  const reader = opts.singleConnection ? writer : readPool(opts.url, 'lizards-provider-reader');
  const replica = opts.singleConnection || !opts.readUrl ? reader : readPool(opts.readUrl, 'lizards-provider-replica');
  const pools = [...new Set([writer, reader, replica])];
  try {
    await retryWhileUnavailable(() => migrate(writer, opts.schema));
  } catch (err) {
    await Promise.allSettled(pools.map((p) => p.end({ timeout: 1 })));
    throw err;
  }
  const partitions = new TickPartitions(writer, opts.schema);
  return {
    kind: opts.kind ?? 'postgres',
    repository: new PostgresPriceRepository(reader),
    history: new PostgresPriceRepository(replica),
    writer: new PostgresTickWriter(writer, opts.schema, partitions),
    maintenance: new HistoryMaintenance(writer, partitions, opts.retention ?? { tickDays: 30, candleDays: null }),
    async close() {
      await Promise.allSettled(pools.map((p) => p.end({ timeout: 5 })));
      await opts.onClose?.();
    },
  };
}
