// `@lizards/provider/store`: the price store's pieces, for tools that build on its schema (the benchmarks).
export { migrate, readMigrations, MIGRATIONS_DIR, type Migration } from './migrate.js';
export {
  openPostgresPriceStore,
  PostgresPriceRepository,
  tickArrays,
  toCandle,
  toStoredTick,
  type CandleRow,
  type PostgresStoreOptions,
  type TickRow,
} from './postgres-price-store.js';
export type { Candle, HistoryPage, HistoryRepository, PriceRepository, PriceStore } from './price-repository.js';
export type { NewTick, StoredTick } from '../ticks/tick-schema.js';
