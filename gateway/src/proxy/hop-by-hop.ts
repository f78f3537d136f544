import type { IncomingHttpHeaders } from 'node:http';

export type HeaderMap = Record<string, string | string[] | undefined>;

/** Headers meaningful only for a single connection (RFC 9110 7.6.1), never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
]);

// The usual Connection values, parsed once rather than per request.
const USUAL_TOKENS = new Map([
  ['keep-alive', new Set(['keep-alive'])],
  ['close', new Set(['close'])],
]);

function connectionTokens(value: string | string[]): ReadonlySet<string> {
  const usual = typeof value === 'string' ? USUAL_TOKENS.get(value) : undefined;
  if (usual) return usual;
  return new Set(
    (Array.isArray(value) ? value.join(',') : value)
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * A copy of `headers` without hop-by-hop headers, Proxy-* headers, any header named in Connection, and the
 * (lower-case) names in `dropAlso`. One pass, on the request path of every proxied request.
 */
export function stripHopByHop(headers: HeaderMap | IncomingHttpHeaders, dropAlso?: ReadonlySet<string>): HeaderMap {
  const connection = headers.connection;
  const named = connection === undefined ? undefined : connectionTokens(connection);
  const out: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') || named?.has(lower) || dropAlso?.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}
