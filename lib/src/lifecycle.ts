import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
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
  registrar: Registrar | undefined;
  /** Deregister, stop accepting, drain in-flight work and close connections (app onClose hooks). */
  shutdown(reason?: string): Promise<void>;
}

/** The address other services should use to reach this one. */
export function advertisedHost(config: CommonConfig): string {
  if (config.ADVERTISE_HOST) return config.ADVERTISE_HOST;
  if (config.HOST === '0.0.0.0' || config.HOST === '::') return hostname();
  return config.HOST;
}

/** Listens, registers with the registry, heartbeats, and shuts down gracefully on SIGTERM/SIGINT. */
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

  await app.listen({ host: config.HOST, port: config.PORT });
  const port = (app.server.address() as AddressInfo).port;
  const host = advertisedHost(config);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  if (opts.serviceId && !closing) {
    client = new RegistryClient({ url: config.REGISTRY_URL, token: config.REGISTRY_TOKEN });
    const name = opts.name ?? `${opts.serviceId}-${process.pid}`;
    const registrations: Registration[] = [
      { serviceId: opts.serviceId, name, ipAddress: host, port, protocol: 'http' },
      ...(opts.extraRegistrations?.(port) ?? []).map((r) => ({ ...r, name, ipAddress: host })),
    ];
    registrar = new Registrar(client, registrations, config.HEARTBEAT_INTERVAL_MS, app.log);
    await registrar.start();
  }

  return { port, url, registrar, shutdown };
}
