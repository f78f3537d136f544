import type { ProviderConfig } from '../config.js';
import { retentionFromConfig } from '../config-options.js';
import { openEmbeddedPriceStore } from './embedded-price-store.js';
import type { PriceStore } from './price-repository.js';
import { openPostgresPriceStore } from './postgres-price-store.js';

/** The store the config names: PostgreSQL at DATABASE_URL (a replica at DATABASE_READ_URL), else embedded PGlite. */
export function openPriceStore(config: ProviderConfig): Promise<PriceStore> {
  const retention = retentionFromConfig(config);
  if (!config.DATABASE_URL) {
    return openEmbeddedPriceStore({
      schema: config.DATABASE_SCHEMA,
      retention,
      ...(config.PGLITE_DATA_DIR ? { dataDir: config.PGLITE_DATA_DIR } : {}),
    });
  }
  return openPostgresPriceStore({
    url: config.DATABASE_URL,
    ...(config.DATABASE_READ_URL ? { readUrl: config.DATABASE_READ_URL } : {}),
    schema: config.DATABASE_SCHEMA,
    readPoolSize: config.DATABASE_POOL_SIZE,
    retention,
  });
}
