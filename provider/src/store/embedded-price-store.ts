import { startEmbeddedPostgres } from './embedded-postgres.js';
import type { Retention } from './history-maintenance.js';
import type { PriceStore } from './price-repository.js';
import { openPostgresPriceStore } from './postgres-price-store.js';

export interface EmbeddedStoreOptions {
  schema: string;
  /** Folder for the database files; in memory when unset. */
  dataDir?: string;
  retention?: Retention;
}

/**
 * PGlite (PostgreSQL in WebAssembly) on its own thread, served over the PostgreSQL wire protocol, so the same
 * postgres.js code and SQL run against it as against a real server. It has a single backend: one connection.
 */
export async function openEmbeddedPriceStore(opts: EmbeddedStoreOptions): Promise<PriceStore> {
  const pg = await startEmbeddedPostgres(opts.dataDir ? { dataDir: opts.dataDir } : {});
  try {
    return await openPostgresPriceStore({
      url: pg.url,
      schema: opts.schema,
      ...(opts.retention ? { retention: opts.retention } : {}),
      kind: 'pglite',
      singleConnection: true,
      onClose: pg.stop,
    });
  } catch (err) {
    await pg.stop();
    throw err;
  }
}
