import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildRegistryApp } from '../../../registry/src/app.js';

export interface RunningRegistry {
  app: FastifyInstance;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A real registry in process on a free port (or `port`, to restart one at the same address). */
export async function startRegistry(
  opts: { leaseTtlMs?: number; evictionIntervalMs?: number; port?: number } = {},
): Promise<RunningRegistry> {
  const app = buildRegistryApp({
    leaseTtlMs: opts.leaseTtlMs ?? 10_000,
    evictionIntervalMs: opts.evictionIntervalMs ?? 50,
    logger: false,
  });
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
