import { ConfigError, isLoopbackHost, listSetting, ServiceIdParam } from '@lizards/lib';
import type { RegistryAppOptions } from './app.js';
import type { RegistryConfig } from './config.js';
import type { RegistryLimits } from './registry-limits.js';

const SERVICE_ID = new RegExp(ServiceIdParam.pattern!);

/** `provider=tok1,ingestion=tok2` → `{provider: 'tok1', ingestion: 'tok2'}`; errors name the entry, never a token. */
function parseServiceTokens(value: string | undefined): Record<string, string> {
  const tokens: Record<string, string> = {};
  listSetting(value).forEach((entry, i) => {
    const at = entry.indexOf('=');
    const serviceId = entry.slice(0, at).trim();
    const token = entry.slice(at + 1).trim();
    if (at < 1 || token === '')
      throw new ConfigError(`REGISTRY_SERVICE_TOKENS: entry ${i + 1} is not <service-id>=<token>`);
    if (!SERVICE_ID.test(serviceId))
      throw new ConfigError(
        `REGISTRY_SERVICE_TOKENS: ${JSON.stringify(serviceId)} is not a service id (${ServiceIdParam.pattern})`,
      );
    if (serviceId in tokens) throw new ConfigError(`REGISTRY_SERVICE_TOKENS: ${serviceId} is listed twice`);
    tokens[serviceId] = token;
  });
  return tokens;
}

/**
 * The app options read from the config, with the rules a schema cannot state: one mapping for server.ts and for
 * the all-in-one stack. Throws ConfigError when the registry would take writes from anyone who can reach it.
 */
export function appOptionsFromConfig(config: RegistryConfig): Pick<
  RegistryAppOptions,
  'leaseTtlMs' | 'evictionIntervalMs' | 'token' | 'serviceTokens' | 'bodyLimit'
> & {
  limits: RegistryLimits;
} {
  if (!config.REGISTRY_TOKEN && !isLoopbackHost(config.HOST)) {
    throw new ConfigError(
      `REGISTRY_TOKEN: required when HOST (${config.HOST}) is not a loopback address, ` +
        'or anyone who reaches the registry can ' +
        'register an instance and receive its traffic; set REGISTRY_TOKEN (writes then need "Authorization: ' +
        'Bearer <token>") or HOST=127.0.0.1',
    );
  }
  return {
    leaseTtlMs: config.LEASE_TTL_MS,
    evictionIntervalMs: config.EVICTION_INTERVAL_MS,
    token: config.REGISTRY_TOKEN,
    serviceTokens: parseServiceTokens(config.REGISTRY_SERVICE_TOKENS),
    bodyLimit: config.REGISTRY_BODY_LIMIT,
    limits: {
      maxServices: config.REGISTRY_MAX_SERVICES,
      maxInstancesPerService: config.REGISTRY_MAX_INSTANCES_PER_SERVICE,
      maxTombstones: config.REGISTRY_MAX_TOMBSTONES,
      tombstoneTtlMs: config.REGISTRY_TOMBSTONE_TTL_MS,
      maxWatchesPerClient: config.REGISTRY_MAX_WATCHES_PER_CLIENT,
      maxWatches: config.REGISTRY_MAX_WATCHES,
    },
  };
}
