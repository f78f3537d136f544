import { readFile } from 'node:fs/promises';
import { createBus, loadConfigOrExit, startOrExit } from '@lizards/lib';
import { IngestionConfig, parseFileConfig, type IngestionFileConfig } from './config.js';
import { startIngestionService } from './ingestion-service.js';
import { createRawStore } from './raw-store/create-raw-store.js';

const config = loadConfigOrExit(IngestionConfig);

let fileConfig: IngestionFileConfig | undefined;
if (config.INGESTION_CONFIG_FILE) {
  try {
    fileConfig = parseFileConfig(JSON.parse(await readFile(config.INGESTION_CONFIG_FILE, 'utf8')));
  } catch (err) {
    process.stderr.write(`INGESTION_CONFIG_FILE ${config.INGESTION_CONFIG_FILE}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await startOrExit('ingestion', () =>
  startIngestionService({
    config,
    ...(fileConfig ? { fileConfig } : {}),
    bus: (log) => createBus(config.AMQP_URL, log),
    rawStore: (log) => createRawStore(config, log),
    handleSignals: true,
  }),
);
