import { request } from 'undici';
import { serverScript } from './paths.js';
import { backends, waitFor, type ProcessGroup, type ServiceProcess } from './services.js';

/** A registry child process whose leases outlive the bench (instances are registered by hand). */
export function startRegistry(group: ProcessGroup, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return group.start({ name: 'registry', script: serverScript('registry'), env: { LEASE_TTL_MS: '600000', ...env } });
}

export interface GatewayOptions {
  registryUrl: string;
  run: string;
  /** 'redis' = shared counters in Redis (the deployed setup); 'local' = per-process counters. */
  rateLimitStore: 'redis' | 'local';
  /** false = every route uncacheable. */
  cache: boolean;
  extraEnv?: Record<string, string>;
}

/** A gateway child process with rate limiting on (a limit never reached) and Redis keys unique to the run. */
export async function startGateway(group: ProcessGroup, opts: GatewayOptions): Promise<ServiceProcess> {
  const routes = opts.cache ? [] : ['/symbols', '/prices/*', '/sources', '/sources/status'].map((path) => ({ path, cacheable: false }));
  const env: Record<string, string> = {
    REGISTRY_URL: opts.registryUrl,
    RATE_LIMIT_MAX: '1000000000',
    RATE_LIMIT_PREFIX: `lz:${opts.run}:rl:`,
    CACHE_PREFIX: `lz:${opts.run}:cache:`,
    GATEWAY_ROUTES: JSON.stringify(routes),
    HEARTBEAT_INTERVAL_MS: '60000',
    ...opts.extraEnv,
  };
  if (opts.rateLimitStore === 'redis' || opts.cache) env.REDIS_URL = backends.redisUrl;
  const gateway = await group.start({ name: 'gateway', script: serverScript('gateway'), env, readyPath: '/ready' });
  return gateway;
}

/** Waits until `url` answers 200 (e.g. the gateway has learnt its upstream from the registry). */
export async function waitForOk(url: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`200 from ${url}`, async () => {
    const res = await request(url).catch(() => undefined);
    if (!res) return false;
    await res.body.dump();
    return res.statusCode === 200;
  }, timeoutMs);
}
