import { STATUS_CODES } from 'node:http';
import { ErrorBody } from '@lizards/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidJsonError, NoRouteError } from '../errors.js';

// The contract holds the schema (the docs publish it); lib's users keep taking it from here.
export { ErrorBody };

/** An error as the handler reads it: `headers` go on the answer (`Retry-After`, `WWW-Authenticate`). */
export type HttpError = FastifyError & { headers?: Record<string, string> };

export interface HttpErrorOptions {
  /** The error of a request that matches no route (default `LZ_ERR_NO_ROUTE`). */
  noRoute?: (method: string, path: string) => Error;
  /** What a schema-validation error's field must be, by field name: `port_number` → `must be a port 1-65535`. */
  fieldHints?: Record<string, string>;
  /** An error the service knows better than its thrower, e.g. a lost database connection → 503 with Retry-After. */
  translate?: (error: HttpError) => HttpError | undefined;
}

/** The error with headers its answer carries, e.g. `withHeaders(new FullError(), { 'retry-after': '15' })`. */
export function withHeaders<E extends Error>(
  error: E,
  headers: Record<string, string>,
): E & { headers: Record<string, string> } {
  return Object.assign(error, { headers });
}

/** Names the first bad field of a schema-validation error and says what is wrong with it. */
export function describeValidationError(
  error: FastifyError,
  hints: Record<string, string> = {},
): { field: string; message: string } {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'body';
  if (!first) return { field: context, message: error.message };
  const missing = (first.params as { missingProperty?: string }).missingProperty;
  const path = first.instancePath.replace(/^\//, '').split('/')[0];
  const field = missing ?? (path || context);
  if (missing) return { field, message: `${context}.${field} is required` };
  const hint = hints[field] ?? first.message ?? 'is invalid';
  return { field, message: `${field === context ? field : `${context}.${field}`} ${hint}` };
}

const isOurs = (error: FastifyError) => error.code?.startsWith('LZ_ERR_') ?? false;

function errorBody(error: HttpError, request: FastifyRequest, opts: HttpErrorOptions): ErrorBody {
  if (error.validation) {
    const { field, message } = describeValidationError(error, opts.fieldHints);
    return { statusCode: 400, error: STATUS_CODES[400]!, code: error.code ?? 'FST_ERR_VALIDATION', message, field };
  }
  const statusCode =
    error.statusCode && error.statusCode >= 400 && STATUS_CODES[error.statusCode] ? error.statusCode : 500;
  const body: ErrorBody = {
    statusCode,
    error: STATUS_CODES[statusCode]!,
    code: error.code ?? (statusCode >= 500 ? 'LZ_ERR_INTERNAL' : 'LZ_ERR_REQUEST'),
    // An unexpected failure's message may describe internals (SQL, addresses): only ours are told.
    message: statusCode >= 500 && !isOurs(error) ? 'Internal error' : error.message,
  };
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      ...body,
      message: `body: larger than the limit of ${request.routeOptions.bodyLimit} bytes`,
      field: 'body',
    };
  }
  if (error.code?.startsWith('FST_ERR_CTP_') || error instanceof InvalidJsonError) return { ...body, field: 'body' };
  return body;
}

/** The error handler of every service's public app: the ErrorBody, headers the error carries, 5xx logged. */
export function httpErrorHandler(opts: HttpErrorOptions = {}) {
  return (thrown: HttpError, request: FastifyRequest, reply: FastifyReply) => {
    const error = opts.translate?.(thrown) ?? thrown;
    const body = errorBody(error, request, opts);
    if (error.headers) reply.headers(error.headers);
    if (body.statusCode >= 500) {
      // Ours are expected states (an upstream down, the bus away); anything else is a bug worth an error line.
      if (isOurs(error)) request.log.warn({ err: error }, 'request failed');
      else request.log.error({ err: error }, 'request failed');
    }
    return reply.code(body.statusCode).send(body);
  };
}

/** Sets the error handler and the not-found handler of a service's public app: one body shape for every service. */
export function useHttpErrors(app: FastifyInstance, opts: HttpErrorOptions = {}): void {
  const noRoute = opts.noRoute ?? ((method: string, path: string) => new NoRouteError(method, path));
  const handler = httpErrorHandler(opts);
  app.setErrorHandler(handler);
  app.setNotFoundHandler((request, reply) =>
    handler(noRoute(request.method, request.url.split('?')[0]!) as HttpError, request, reply),
  );
}
