import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { loggerOptions } from '../logger.js';

export interface ServiceFastifyOptions extends Omit<FastifyServerOptions, 'logger'> {
  /** Defaults to JSON lines at `level`, tagged with the service, secrets redacted (loggerOptions). */
  logger?: FastifyServerOptions['logger'] | undefined;
  level?: string;
}

/** A service's Fastify instance: its logger, and 503 to requests that arrive while it closes. */
export function serviceFastify(service: string, opts: ServiceFastifyOptions = {}): FastifyInstance {
  const { logger, level = 'info', ...options } = opts;
  return Fastify({ return503OnClosing: true, ...options, logger: logger ?? loggerOptions({ level, service }) });
}
