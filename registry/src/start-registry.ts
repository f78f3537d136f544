import { loggerOptions, runService, type StartedService, type StartServiceOptions } from '@lizards/lib';
import { buildRegistryApp } from './app.js';
import type { RegistryConfig } from './config.js';
import { appOptionsFromConfig } from './config-options.js';

export type StartRegistryOptions = StartServiceOptions<RegistryConfig>;

/**
 * Builds the registry from its config and listens: the one start of server.ts and of the all-in-one stack.
 * Throws ConfigError when the registry would take writes from anyone who can reach it.
 */
export async function startRegistry(opts: StartRegistryOptions): Promise<StartedService> {
  const { config } = opts;
  const options = appOptionsFromConfig(config);
  const app = buildRegistryApp({
    ...options,
    logger: opts.logger ?? loggerOptions({ level: config.LOG_LEVEL, service: 'registry' }),
  });
  if (!options.token && Object.keys(options.serviceTokens ?? {}).length === 0) {
    app.log.warn({ host: config.HOST }, 'REGISTRY_TOKEN is not set: anyone on this machine may write to the registry');
  }
  const running = await runService({ app, config, handleSignals: opts.handleSignals ?? false });
  app.log.info({ url: running.url, adminUrl: running.adminUrl, leaseTtlMs: config.LEASE_TTL_MS }, 'registry ready');
  return { app, running, shutdown: running.shutdown };
}
