import type { HistoryMaintenance } from './history-maintenance.js';
import type { NewTick, StoredTick } from '../ticks/tick-schema.js';

export type TickKeyFields = Pick<NewTick, 'symbol' | 'source' | 'timestamp'>;

export interface SymbolInfo {
  symbol: string;
  firstSeenAt: Date;
  lastTickAt: Date;
}

export interface Candle {
  start: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | null;
  ticks: number;
}

/**
 * The live read side (WebSocket hub, latest prices): the live cursor, resume and snapshots. It reads from the
 * primary, where "everything after seq N" is exact; every query is read-only.
 */
export interface PriceRepository {
  /** The subset of `symbols` that the store knows. */
  knownSymbols(symbols: string[]): Promise<Set<string>>;
  /** The latest tick (by timestamp) of each symbol that has one. */
  latest(symbols: string[]): Promise<StoredTick[]>;
  /** Ticks with `after < seq <= upTo` (for the given symbols, or all), in seq order, at most `limit`. */
  ticksAfter(opts: { after: string; upTo?: string; symbols?: string[]; limit: number }): Promise<StoredTick[]>;
  /** The highest committed seq, '0' when empty. */
  maxSeq(): Promise<string>;
  /** Those of `ticks` already stored, by the store's natural key (symbol, source, timestamp). */
  whichStored(ticks: readonly TickKeyFields[]): Promise<TickKeyFields[]>;
  ping(): Promise<void>;
}

/** Where a history page ends: the last tick's time (microseconds since the epoch, as text) and seq. */
export interface HistoryPosition {
  atMicros: string;
  seq: string;
}

export interface HistoryPage {
  ticks: StoredTick[];
  /** Where the next page starts; absent on the last page. */
  next?: HistoryPosition;
}

/** The history side (REST): symbols, time ranges and candles. It may read from a replica; every query is read-only. */
export interface HistoryRepository {
  /** The subset of `symbols` that the store knows. */
  knownSymbols(symbols: string[]): Promise<Set<string>>;
  listSymbols(): Promise<SymbolInfo[]>;
  /** Ticks of one symbol with `from <= timestamp < to` after `after`, in (timestamp, seq) order, at most `limit`. */
  history(query: {
    symbol: string;
    from: Date;
    to: Date;
    limit: number;
    after?: HistoryPosition;
  }): Promise<HistoryPage>;
  /** OHLC candles of `intervalSeconds` for `from <= timestamp < to`, oldest first. */
  candles(symbol: string, intervalSeconds: number, from: Date, to: Date): Promise<Candle[]>;
  ping(): Promise<void>;
}

export interface WriteResult {
  /** The rows actually inserted (not duplicates), in seq order. */
  inserted: StoredTick[];
}

/** The write side, used only by the worker. */
export interface TickWriter {
  /** Inserts the ticks idempotently in one transaction; seq follows commit order across writers. */
  write(ticks: NewTick[]): Promise<WriteResult>;
}

export interface PriceStore {
  readonly kind: 'postgres' | 'pglite';
  readonly repository: PriceRepository;
  readonly history: HistoryRepository;
  readonly writer: TickWriter;
  /** Tick partitions ahead of need and retention; the app runs it on an interval. */
  readonly maintenance: HistoryMaintenance;
  close(): Promise<void>;
}
