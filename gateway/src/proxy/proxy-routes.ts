import type { OutgoingHttpHeaders } from 'node:http';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onResponseHookHandler,
} from 'fastify';
import { ErrorBody, GatewayNoRouteError, UpgradeRequiredError, withHeaders } from '@lizards/lib';
import type { CacheLayer } from '../cache/cache-layer.js';
import { cacheKey } from '../cache/cache-policy.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { normalizeRequestTarget } from '../routes/path-safety.js';
import { routeCovers, type RouteEntry } from '../routes/route-table.js';
import type { Balancer } from '../upstreams/balancer.js';
import type { InstanceDirectory } from '../upstreams/instance-directory.js';
import { clientResponseHeaders, forwardedRequestHeaders } from './forwarded-headers.js';
import type { HeaderMap } from './hop-by-hop.js';
import { proxyRequest, proxyStream, type ProxyRequest } from './http-proxy.js';
import { openUpstream, relaySockets, type WsProxyOptions } from './ws-proxy.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The normalised path and raw query string being proxied. */
    gatewayTarget: { path: string; query: string };
    /** Address of the upstream instance that answered (or 'cache'). */
    gatewayUpstream: string | undefined;
  }
}

export interface ProxyRoutesOptions {
  routes: RouteEntry[];
  balancer: Balancer;
  directory: InstanceDirectory;
  cacheLayer: CacheLayer;
  metrics: GatewayMetrics;
  /** Retry-After for "no live instance" answers. */
  retryAfterMs: number;
  /** How long the very first request for a service waits for the registry's first answer. */
  firstLookupWaitMs: number;
}

function routeSchema(route: RouteEntry) {
  const described = (description: string) => ({ description, ...ErrorBody });
  return {
    summary: route.summary || undefined,
    tags: [route.service],
    description:
      `Proxied to service \`${route.service}\`` +
      (route.cacheable ? `; cached (default TTL ${route.cacheTtlMs} ms, upstream Cache-Control wins)` : '') +
      `; rate-limit group \`${route.rateLimitGroup}\`.`,
    response: {
      400: described('Unsafe path'),
      404: described('No such route'),
      ...(route.websocket ? { 426: described('Not a WebSocket upgrade') } : {}),
      429: described('Rate limit exceeded (see Retry-After and RateLimit-* headers)'),
      502: described('Upstream unavailable'),
      503: described('No live instance (see Retry-After)'),
      504: described('Upstream timeout'),
    },
  };
}

/**
 * The headers of a streamed answer: the upstream's (without hop-by-hop ones) plus those the gateway set on the reply
 * (X-Request-Id, RateLimit-*); the upstream's win, as with `reply.headers()`. A 204 carries no Content-Type or
 * Content-Length, as Fastify would send it.
 */
function responseHeaders(reply: FastifyReply, status: number, upstream: HeaderMap): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = clientResponseHeaders(upstream);
  if (status === 204) {
    delete headers['content-type'];
    delete headers['content-length'];
  }
  const own = reply.getHeaders();
  for (const name in own) if (headers[name] === undefined) headers[name] = own[name];
  return headers;
}

/** The configured public routes, each proxied to an instance of its service; nothing else is reachable. */
export async function proxyRoutes(app: FastifyInstance, opts: ProxyRoutesOptions): Promise<void> {
  const { balancer, directory, cacheLayer, metrics } = opts;
  app.decorateRequest('gatewayTarget', null as unknown as { path: string; query: string });
  app.decorateRequest('gatewayUpstream', undefined);

  // Bodies pass through as bytes, whatever their type; the upstream validates them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Hooks per route, in callback style: the route is known when it is registered (nothing to look up per request)
  // and no promise is made per hook.
  const checkTarget =
    (route: RouteEntry): onRequestHookHandler =>
    (request, _reply, done) => {
      let target: { path: string; query: string };
      try {
        target = normalizeRequestTarget(request.url);
      } catch (err) {
        return done(err as Error);
      }
      if (!routeCovers(route, target.path)) return done(new GatewayNoRouteError(request.method, target.path));
      request.gatewayTarget = target;
      done();
    };
  const countRequest =
    (route: RouteEntry): onResponseHookHandler =>
    (request, reply, done) => {
      metrics.requests.inc({
        route: route.path,
        method: request.method,
        status: String(reply.statusCode),
        upstream: request.gatewayUpstream ?? 'none',
      });
      done();
    };

  for (const route of opts.routes) {
    const settle = async () => directory.settled(route.service, opts.firstLookupWaitMs);
    if (route.websocket) {
      const wsOpts: WsProxyOptions = { route, balancer, metrics, retryAfterMs: opts.retryAfterMs };
      app.route({
        method: 'GET',
        url: route.path,
        schema: { ...routeSchema(route), hide: false },
        onRequest: [checkTarget(route), app.rateLimitHook(route.rateLimitGroup)],
        preHandler: [settle, openUpstream(wsOpts)],
        handler: async () => {
          throw withHeaders(new UpgradeRequiredError(route.path), { upgrade: 'websocket' });
        },
        wsHandler: relaySockets(wsOpts),
      });
      continue;
    }

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!directory.hasSettled(route.service)) await settle();
      const { path, query } = request.gatewayTarget;
      const upstreamRequest: ProxyRequest = {
        route,
        method: request.method,
        pathAndQuery: `${path}${query ? `?${query}` : ''}`,
        headers: forwardedRequestHeaders(request),
        body: Buffer.isBuffer(request.body) ? request.body : undefined,
      };

      // Requests carrying credentials may get personal answers: never shared through the cache.
      const cacheable =
        route.cacheable && request.method === 'GET' && !request.headers.authorization && !request.headers.cookie;
      if (cacheable) {
        const fetchUpstream = () => proxyRequest(upstreamRequest, balancer, metrics, opts.retryAfterMs);
        const outcome = await cacheLayer.fetch(cacheKey('GET', path, query), route.cacheTtlMs, fetchUpstream);
        request.gatewayUpstream = outcome.upstream ?? 'cache';
        reply.code(outcome.status).headers(outcome.headers).header('x-cache', outcome.xCache);
        if (outcome.ageS !== undefined) reply.header('age', outcome.ageS);
        return reply.send(outcome.body);
      }

      // Uncached: the upstream body is written straight into the client's response, which is taken over from
      // Fastify (hijacked) once the upstream's headers are in; until then any error is answered by the error handler.
      try {
        await proxyStream(upstreamRequest, balancer, metrics, opts.retryAfterMs, (upstream, status, headers) => {
          request.gatewayUpstream = upstream.address;
          reply.raw.writeHead(status, responseHeaders(reply, status, headers));
          reply.hijack();
          return reply.raw;
        });
      } catch (err) {
        if (!reply.sent) throw err;
        // The response had begun: the client sees it cut short, as with any streamed body that fails.
        if ((err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE')
          request.log.info('client closed the connection before the response ended');
        else request.log.warn({ err }, 'upstream response failed after its headers were sent');
      }
    };

    app.route({
      method: route.methods,
      url: route.path,
      schema: routeSchema(route),
      onRequest: [checkTarget(route), app.rateLimitHook(route.rateLimitGroup)],
      onResponse: countRequest(route),
      handler,
    });
  }
}
