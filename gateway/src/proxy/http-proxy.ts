import type { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { noInstance, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { RouteEntry } from '../routes/route-table.js';
import type { Balancer, Upstream } from '../upstreams/balancer.js';
import type { HeaderMap } from './hop-by-hop.js';

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

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL', 'EAI_AGAIN']);
const SOCKET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD']);

function codeOf(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? '';
}

/** One attempt on one instance; `answered` is called when the upstream's response headers arrive. */
type Attempt<T> = (upstream: Upstream, options: Dispatcher.RequestOptions, answered: (status: number) => void) => Promise<T>;

/**
 * Sends a request to an instance picked by the balancer. A request that could not connect is retried once on
 * another instance (it was never sent); an idempotent one also after its connection broke. A non-idempotent
 * request is never retried once it may have reached the upstream. Errors, timeouts and 5xx feed the breaker.
 * An error after the response headers arrived (the response has begun) is passed on as it is.
 */
async function withRetries<T>(req: ProxyRequest, balancer: Balancer, metrics: GatewayMetrics, retryAfterMs: number, attempt: Attempt<T>): Promise<T> {
  const serviceId = req.route.service;
  const options: Dispatcher.RequestOptions = {
    method: req.method as Dispatcher.HttpMethod,
    path: req.pathAndQuery,
    headers: req.headers as Record<string, string | string[]>,
    body: req.body && req.body.length > 0 ? req.body : null,
    headersTimeout: req.route.timeoutMs,
    bodyTimeout: req.route.timeoutMs,
  };
  let tried: Set<string> | undefined;
  let lastError: unknown;
  for (let i = 0; i < 2; i++) {
    const pick = balancer.pick(serviceId, tried);
    if (!pick.upstream) {
      if (lastError) break;
      throw noInstance(serviceId, pick.reason === 'all-open' ? pick.retryAfterMs : retryAfterMs);
    }
    const upstream = pick.upstream;
    if (i > 0) metrics.retries.inc({ upstream_service: serviceId });
    const started = performance.now();
    let headersArrived = false;
    const answered = (status: number) => {
      headersArrived = true;
      const failed = status >= 500;
      if (failed) upstream.breaker.failure();
      else upstream.breaker.success();
      metrics.upstreamDuration.observe({ upstream_service: serviceId, upstream: upstream.address, outcome: failed ? '5xx' : 'ok' }, (performance.now() - started) / 1000);
    };
    try {
      return await attempt(upstream, options, answered);
    } catch (err) {
      if (headersArrived) throw err;
      const code = codeOf(err);
      upstream.breaker.failure();
      metrics.upstreamDuration.observe({ upstream_service: serviceId, upstream: upstream.address, outcome: TIMEOUT_ERRORS.has(code) ? 'timeout' : 'error' }, (performance.now() - started) / 1000);
      if (TIMEOUT_ERRORS.has(code)) throw new UpstreamTimeoutError(serviceId, req.route.timeoutMs, { cause: err });
      lastError = err;
      (tried ??= new Set()).add(upstream.instanceId);
      const retriable = CONNECT_ERRORS.has(code) || (IDEMPOTENT.has(req.method) && SOCKET_ERRORS.has(code));
      if (!retriable) break;
    }
  }
  throw new UpstreamUnavailableError(serviceId, (lastError as Error)?.message ?? 'no other instance', { cause: lastError });
}

/** Sends the request (see `withRetries`); resolves at the response headers, with the body as a stream. */
export function proxyRequest(req: ProxyRequest, balancer: Balancer, metrics: GatewayMetrics, retryAfterMs: number): Promise<ProxyResponse> {
  return withRetries(req, balancer, metrics, retryAfterMs, async (upstream, options, answered) => {
    const res = await upstream.dispatcher.request(options);
    answered(res.statusCode);
    return { status: res.statusCode, headers: res.headers, body: res.body, upstream };
  });
}

/** Where a streamed response goes: called once with the upstream's status and headers, returns the writable for the body. */
export type ResponseTarget = (upstream: Upstream, status: number, headers: HeaderMap) => Writable;

/**
 * Sends the request (see `withRetries`) and writes the response body into the writable `respond` returns at the
 * headers (undici's `stream`: no intermediate body stream, back-pressure from the writable). Resolves when the body
 * has been written; rejects with the upstream error as `withRetries` does, also after the headers (then `respond`
 * has been called and its writable destroyed).
 */
export function proxyStream(req: ProxyRequest, balancer: Balancer, metrics: GatewayMetrics, retryAfterMs: number, respond: ResponseTarget): Promise<void> {
  return withRetries(req, balancer, metrics, retryAfterMs, async (upstream, options, answered) => {
    await upstream.dispatcher.stream(options, ({ statusCode, headers }) => {
      answered(statusCode);
      return respond(upstream, statusCode, headers);
    });
  });
}
