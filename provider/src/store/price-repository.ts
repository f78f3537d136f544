import type { NewTick, StoredTick } from '../ticks/tick-schema.js';

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

/** The read side of the price store (WebSocket hub and REST); every query is read-only. */
export interface PriceRepository {
  /** The subset of `symbols` that the store knows. */
  knownSymbols(symbols: string[]): Promise<Set<string>>;
  listSymbols(): Promise<SymbolInfo[]>;
  /** The latest tick (by timestamp) of each symbol that has one. */
  latest(symbols: string[]): Promise<StoredTick[]>;
  /** Ticks with `after < seq <= upTo` (for the given symbols, or all), in seq order, at most `limit`. */
  ticksAfter(opts: { after: string; upTo?: string; symbols?: string[]; limit: number }): Promise<StoredTick[]>;
  /** The highest committed seq, '0' when empty. */
  maxSeq(): Promise<string>;
  /** Ticks of one symbol with `from <= timestamp < to`, oldest first. */
  history(symbol: string, from: Date, to: Date, limit: number): Promise<StoredTick[]>;
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
  readonly writer: TickWriter;
  close(): Promise<void>;
}
