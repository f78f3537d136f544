import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import type { CommonConfig } from './config.js';
import { RegistryClient } from './registry/registry-client.js';
import { Registrar, type Registration } from './registry/registrar.js';
import type { Protocol } from './registry/registry-contract.js';

export interface ExtraRegistration {
  serviceId: string;
  protocol: Protocol;
  port: number;
}

export interface RunServiceOptions {
  /** The service, with observabilityPlugin registered: its admin app is listened on ADMIN_HOST:ADMIN_PORT here. */
  app: FastifyInstance;
  config: CommonConfig;
  /** Registry service id for the HTTP endpoint, e.g. 'provider'; omit to not register (the registry itself). */
  serviceId?: string;
  /** Human-readable instance name; defaults to `<serviceId>-<pid>`. */
  name?: string;
  /** Further endpoints to register, e.g. a gRPC port. */
  extraRegistrations?: (port: number) => ExtraRegistration[];
  /** Handle process signals (true for a real process; false inside tests or the all-in-one stack). */
  handleSignals?: boolean;
}

export interface RunningService {
  port: number;
  url: string;
  /** The admin listener (/health, /ready, /metrics), registered with the registry as `admin_port`. */
  adminPort: number;
  adminUrl: string;
  registrar: Registrar | undefined;
  /** Deregister, stop accepting, drain in-flight work and close connections (app onClose hooks). */
  shutdown(reason?: string): Promise<void>;
}

/** What every service's start function (`startRegistry`, `startProvider`, …) takes besides its adapters. */
export interface StartServiceOptions<C extends CommonConfig> {
  config: C;
  logger?: FastifyServerOptions['logger'];
  /** Handle SIGTERM/SIGINT (true for the real process; false inside tests or the all-in-one stack). */
  handleSignals?: boolean;
}

/** What every service's start function returns: the app, listening and registered. */
export interface StartedService {
  app: FastifyInstance;
  running: RunningService;
  shutdown(reason?: string): Promise<void>;
}

/** The address other services should use to reach this one. */
export function advertisedHost(config: CommonConfig): string {
  if (config.ADVERTISE_HOST) return config.ADVERTISE_HOST;
  if (config.HOST === '0.0.0.0' || config.HOST === '::') return hostname();
  return config.HOST;
}

const httpUrl = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

export interface RegisterServiceOptions extends Pick<RunServiceOptions, 'config' | 'name' | 'extraRegistrations'> {
  serviceId: string;
  port: number;
  adminPort: number;
  log: FastifyBaseLogger;
}

/**
 * Registers an instance listening on `port` / `adminPort` at the advertised host and heartbeats it (as runService
 * does, for a process that listens elsewhere, e.g. a cluster primary); `registrar.stop()` deregisters.
 */
export async function registerService(
  opts: RegisterServiceOptions,
): Promise<{ registrar: Registrar; client: RegistryClient }> {
  const { config, serviceId, port } = opts;
  const client = new RegistryClient({ url: config.REGISTRY_URL, token: config.REGISTRY_TOKEN });
  const host = advertisedHost(config);
  const name = opts.name ?? `${serviceId}-${process.pid}`;
  const registrations: Registration[] = [
    { serviceId, name, ipAddress: host, port, protocol: 'http', adminPort: opts.adminPort },
    ...(opts.extraRegistrations?.(port) ?? []).map((r) => ({ ...r, name, ipAddress: host })),
  ];
  const registrar = new Registrar(client, registrations, config.HEARTBEAT_INTERVAL_MS, opts.log);
  await registrar.start();
  return { registrar, client };
}

/** Listens (public and admin), registers with the registry, heartbeats, and shuts down gracefully on SIGTERM/SIGINT. */
export async function runService(opts: RunServiceOptions): Promise<RunningService> {
  const { app, config } = opts;
  let registrar: Registrar | undefined;
  let client: RegistryClient | undefined;

  let closing: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      app.log.info({ reason }, 'shutting down');
      await registrar?.stop();
      // Keep-alive connections that finish their last request while we drain would hold close() open.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
      await client?.close();
      app.log.info('stopped');
    })();
    return closing;
  };

  // Installed before listening, so a signal during start-up still shuts down cleanly.
  if (opts.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      const force = setTimeout(() => {
        app.log.error({ signal }, 'graceful shutdown timed out');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      force.unref();
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  try {
    // A failed start closes the app, so what it was given (bus, store, clients) is released with it.
    await app.listen({ host: config.HOST, port: config.PORT });
    if (!app.hasDecorator('admin'))
      throw new Error('runService: the app has no admin listener; register observabilityPlugin');
    await app.admin.listen({ host: config.ADMIN_HOST ?? config.HOST, port: config.ADMIN_PORT });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const adminPort = (app.admin.server.address() as AddressInfo).port;
  const host = advertisedHost(config);
  const url = httpUrl(host, port);
  const adminUrl = httpUrl(host, adminPort);

  if (opts.serviceId && !closing) {
    ({ registrar, client } = await registerService({
      ...opts,
      serviceId: opts.serviceId,
      port,
      adminPort,
      log: app.log,
    }));
  }

  return { port, url, adminPort, adminUrl, registrar, shutdown };
}

/**
 * A service process's start: a refusal of ours (an `LZ_ERR_*` error: a bad setting, a missing token) prints its
 * message, anything else its stack; either exits 1.
 */
export async function startOrExit<T>(service: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const { code, message, stack } = err as Error & { code?: string };
    process.stderr.write(
      `${code?.startsWith('LZ_ERR_') ? message : `${service} failed to start: ${stack ?? String(err)}`}\n`,
    );
    process.exit(1);
  }
}
