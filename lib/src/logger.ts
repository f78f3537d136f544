import type { FastifyServerOptions } from 'fastify';
import { pino, type Logger, type LoggerOptions } from 'pino';

const SECRET_QUERY_PARAMS = /([?&](?:token|apikey|api_key|key|secret|session|password)=)[^&#]*/gi;

/** Replaces secret query parameter values in a URL so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[redacted]');
}

/** Paths pino blanks out in every log line. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'token',
  'apiKey',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.secret',
];

/** Fastify logger options: one JSON line per event, secrets redacted, request urls scrubbed. */
export function loggerOptions(opts: { level: string; service: string }): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: opts.level,
    base: { service: opts.service, pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      req(req: { method: string; url: string; id: string; ip?: string }) {
        return { id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
      },
    },
  };
}

/** A logger on its own with the same options, for a process without a Fastify app (e.g. a cluster primary). */
export function createLogger(opts: { level: string; service: string }): Logger {
  return pino(loggerOptions(opts) as LoggerOptions);
}
