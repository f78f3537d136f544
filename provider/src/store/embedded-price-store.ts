import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { PriceStore } from './price-repository.js';
import { openPostgresPriceStore } from './postgres-price-store.js';

export interface EmbeddedStoreOptions {
  schema: string;
  /** Folder for the database files; in memory when unset. */
  dataDir?: string;
}

/**
 * PGlite (PostgreSQL in WebAssembly) served on 127.0.0.1:<free port> through pglite-socket, so the
 * same postgres.js code and SQL run against it as against a real server.
 */
export async function openEmbeddedPriceStore(opts: EmbeddedStoreOptions): Promise<PriceStore> {
  const db = await PGlite.create(opts.dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  try {
    return await openPostgresPriceStore({
      url,
      schema: opts.schema,
      kind: 'pglite',
      singleConnection: true,
      onClose: async () => {
        await server.stop();
        await db.close();
      },
    });
  } catch (err) {
    await server.stop();
    await db.close();
    throw err;
  }
}
