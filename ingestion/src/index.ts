export { buildIngestionApp, type IngestionAppOptions, type IngestionHandle, type IngestionSettings } from './app.js';
export {
  IngestionConfig,
  IngestionFileConfig,
  parseFileConfig,
  resolveSourceSettings,
  type SourceSettings,
} from './config.js';
export {
  startIngestionService,
  ingestionSettings,
  INGESTION_SERVICE_ID,
  INGESTION_GRPC_SERVICE_ID,
  type IngestionService,
  type StartIngestionOptions,
} from './ingestion-service.js';
export { tickMessages } from './outbox/tick-message.js';
export { CHROMIUM_LAUNCH_ARGS } from './sources/chromium-browser.js';
export { createRawStore } from './raw-store/create-raw-store.js';
export type { RawStore, RawDocument } from './raw-store/raw-store.js';
export type { Tick, SourceId } from './ticks/tick.js';
