import type { FastifyRequest } from 'fastify';
import { stripHopByHop, type HeaderMap } from './hop-by-hop.js';

/** Request headers the gateway sets itself or that only make sense toward the gateway. */
const NOT_FORWARDED = new Set([
  'host',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'forwarded',
]);

/**
 * The headers to send upstream: the client's without hop-by-hop ones, plus X-Forwarded-For/-Proto/-Host and
 * X-Request-Id. Fastify applies TRUST_PROXY: `request.ips` runs from the peer back through the trusted proxies to the
 * first untrusted address (the client), so entries a client wrote left of that are not passed on; `protocol` and
 * `host` take X-Forwarded-Proto/-Host only from a trusted peer.
 */
export function forwardedRequestHeaders(request: FastifyRequest): HeaderMap {
  const headers = stripHopByHop(request.headers, NOT_FORWARDED);
  const chain = request.ips ?? [request.socket.remoteAddress ?? request.ip];
  headers['x-forwarded-for'] = chain.toReversed().join(', ');
  headers['x-forwarded-proto'] = request.protocol;
  if (request.host) headers['x-forwarded-host'] = request.host;
  headers['x-request-id'] = request.id;
  return headers;
}

/** Response headers to pass back to the client: the upstream's without hop-by-hop ones. */
export function clientResponseHeaders(upstream: HeaderMap): HeaderMap {
  return stripHopByHop(upstream);
}
