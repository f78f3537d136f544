import type { FastifyRequest } from 'fastify';
import { stripHopByHop, type HeaderMap } from './hop-by-hop.js';

/** Request headers the gateway sets itself or that only make sense toward the gateway. */
const NOT_FORWARDED = new Set(['host', 'content-length', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'forwarded']);

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The headers to send upstream: the client's without hop-by-hop ones, plus X-Forwarded-For/-Proto/-Host
 * and X-Request-Id. Client-sent X-Forwarded-* are kept only when the peer is a trusted proxy.
 */
export function forwardedRequestHeaders(request: FastifyRequest, trustProxy: boolean): HeaderMap {
  const incoming = request.headers;
  const headers = stripHopByHop(incoming, NOT_FORWARDED);
  const peer = request.socket.remoteAddress ?? request.ip;
  const priorFor = trustProxy ? first(incoming['x-forwarded-for']) : undefined;
  headers['x-forwarded-for'] = priorFor ? `${priorFor}, ${peer}` : peer;
  headers['x-forwarded-proto'] = (trustProxy && first(incoming['x-forwarded-proto'])) || request.protocol;
  const host = (trustProxy && first(incoming['x-forwarded-host'])) || incoming.host;
  if (host) headers['x-forwarded-host'] = host;
  headers['x-request-id'] = request.id;
  return headers;
}

/** Response headers to pass back to the client: the upstream's without hop-by-hop ones. */
export function clientResponseHeaders(upstream: HeaderMap): HeaderMap {
  return stripHopByHop(upstream);
}
