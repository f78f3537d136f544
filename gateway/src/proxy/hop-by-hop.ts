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

function connectionTokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}

/** A copy of `headers` without hop-by-hop headers, Proxy-* headers, and any header named in Connection. */
export function stripHopByHop(headers: HeaderMap | IncomingHttpHeaders): HeaderMap {
  const named = new Set(connectionTokens(headers.connection));
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') || named.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}
