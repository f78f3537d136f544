import { loadConfigOrExit, loggerOptions, runService } from '@lizards/lib';
import { buildRegistryApp } from './app.js';
import { RegistryConfig } from './config.js';

const config = loadConfigOrExit(RegistryConfig);
const app = buildRegistryApp({
  leaseTtlMs: config.LEASE_TTL_MS,
  evictionIntervalMs: config.EVICTION_INTERVAL_MS,
  token: config.REGISTRY_TOKEN,
  bodyLimit: config.REGISTRY_BODY_LIMIT,
  logger: loggerOptions({ level: config.LOG_LEVEL, service: 'registry' }),
});
const { url } = await runService({ app, config });
app.log.info({ url, leaseTtlMs: config.LEASE_TTL_MS }, 'registry ready');
