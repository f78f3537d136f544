import type { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { UpstreamTimeoutError } from '@lizards/lib';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { RouteEntry } from '../routes/route-table.js';
import type { Balancer, Upstream } from '../upstreams/balancer.js';
import type { HeaderMap } from './hop-by-hop.js';
import { ResponseRelay } from './response-relay.js';
import { tryInstances } from './try-instances.js';

export interface ProxyRequest {
  route: RouteEntry;
  method: string;
  /** Normalised path plus the raw query string (`/prices/AAPL?from=...`). */
  pathAndQuery: string;
  headers: HeaderMap;
  body?: Buffer | undefined;
}

export interface ProxyResponse {
  status: number;
  headers: HeaderMap;
  body: Dispatcher.ResponseData['body'];
  upstream: Upstream;
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'LZ_ERR_GATEWAY_UPSTREAM_REFUSED',
]);
const SOCKET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD']);

function codeOf(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? '';
}

/** One attempt on one instance; `answered` is called when the upstream's response headers arrive. */
type Attempt<T> = (
  upstream: Upstream,
  options: Dispatcher.RequestOptions,
  answered: (status: number) => void,
) => Promise<T>;

/**
 * Sends a request to instances picked by the balancer (`tryInstances`). A request that could not connect is retried
 * once on another instance (it was never sent); an idempotent one also after its connection broke. A non-idempotent
 * request is never retried once it may have reached the upstream. A timeout is not retried. When no instance tried
 * could be reached (and the request had no effect) the answer is 503 with Retry-After.
 */
function withRetries<T>(
  req: ProxyRequest,
  balancer: Balancer,
  metrics: GatewayMetrics,
  retryAfterMs: number,
  attempt: Attempt<T>,
): Promise<T> {
  const serviceId = req.route.service;
  const options: Dispatcher.RequestOptions = {
    method: req.method as Dispatcher.HttpMethod,
    path: req.pathAndQuery,
    headers: req.headers as Record<string, string | string[]>,
    body: req.body && req.body.length > 0 ? req.body : null,
    headersTimeout: req.route.timeoutMs,
    bodyTimeout: req.route.timeoutMs,
  };
  let started = 0;
  const observe = (upstream: Upstream, outcome: string) => {
    const labels = { upstream_service: serviceId, upstream: upstream.address, outcome };
    metrics.upstreamDuration.observe(labels, (performance.now() - started) / 1000);
  };
  return tryInstances(
    { serviceId, balancer, metrics, retryAfterMs },
    {
      run: (upstream, answered) => {
        started = performance.now();
        return attempt(upstream, options, (status) => {
          answered(status);
          observe(upstream, status >= 500 ? '5xx' : 'ok');
        });
      },
      retriable: (err, upstream) => {
        const code = codeOf(err);
        observe(upstream, TIMEOUT_ERRORS.has(code) ? 'timeout' : 'error');
        if (TIMEOUT_ERRORS.has(code)) throw new UpstreamTimeoutError(serviceId, req.route.timeoutMs, { cause: err });
        return CONNECT_ERRORS.has(code) || (IDEMPOTENT.has(req.method) && SOCKET_ERRORS.has(code));
      },
      // A refused upstream address (outside UPSTREAM_ALLOW) is a failure of the route, not an outage.
      unreachable: (err) => codeOf(err) !== 'LZ_ERR_GATEWAY_UPSTREAM_REFUSED',
    },
  );
}

/** Sends the request (see `withRetries`); resolves at the response headers, with the body as a stream. */
export function proxyRequest(
  req: ProxyRequest,
  balancer: Balancer,
  metrics: GatewayMetrics,
  retryAfterMs: number,
): Promise<ProxyResponse> {
  return withRetries(req, balancer, metrics, retryAfterMs, async (upstream, options, answered) => {
    const res = await upstream.dispatcher.request(options);
    answered(res.statusCode);
    return { status: res.statusCode, headers: res.headers, body: res.body, upstream };
  });
}

/**
 * Where a streamed response goes: called once with the upstream's status and headers, returns the writable for the
 * body.
 */
export type ResponseTarget = (upstream: Upstream, status: number, headers: HeaderMap) => Writable;

/**
 * Sends the request (see `withRetries`) and writes the response body into the writable `respond` returns at the
 * headers (a `ResponseRelay`: no intermediate body stream, back-pressure from the writable). Resolves when the body
 * has been written; rejects with the upstream error as `withRetries` does, also after the headers (then `respond`
 * has been called and its writable destroyed).
 */
export function proxyStream(
  req: ProxyRequest,
  balancer: Balancer,
  metrics: GatewayMetrics,
  retryAfterMs: number,
  respond: ResponseTarget,
): Promise<void> {
  return withRetries(
    req,
    balancer,
    metrics,
    retryAfterMs,
    (upstream, options, answered) =>
      new Promise<void>((resolve, reject) => {
        const target = (status: number, headers: HeaderMap) => respond(upstream, status, headers);
        const settle = (err: Error | null) => (err ? reject(err) : resolve());
        upstream.dispatcher.dispatch(options, new ResponseRelay(answered, target, settle));
      }),
  );
}
