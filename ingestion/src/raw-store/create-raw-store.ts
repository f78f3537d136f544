import type { FastifyBaseLogger } from 'fastify';
import type { IngestionConfig } from '../config.js';
import { EmbeddedRawStore } from './embedded-raw-store.js';
import { MongoRawStore } from './mongo-raw-store.js';
import type { RawStore } from './raw-store.js';

/** MongoDB when MONGO_URL is set, otherwise the embedded store (on disk when RAW_STORE_DIR is set). */
export function createRawStore(config: IngestionConfig, log?: Pick<FastifyBaseLogger, 'warn' | 'info'>): RawStore {
  if (config.MONGO_URL)
    return new MongoRawStore({
      url: config.MONGO_URL,
      dbName: config.MONGO_DB,
      retentionDays: config.RAW_RETENTION_DAYS,
    });
  return new EmbeddedRawStore({
    maxBytes: config.RAW_STORE_MAX_BYTES,
    retentionDays: config.RAW_RETENTION_DAYS,
    dataDir: config.RAW_STORE_DIR,
    ...(log ? { log } : {}),
  });
}
