import type { HeaderMap } from '../proxy/hop-by-hop.js';

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

function directives(cacheControl: string): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (const part of cacheControl.split(',')) {
    const [name, value] = part.trim().split('=', 2) as [string, string | undefined];
    if (name) out.set(name.toLowerCase(), value === undefined ? true : value.replace(/^"|"$/g, ''));
  }
  return out;
}

function seconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Whether a response may reach clients other than the one that asked (from the cache, or by joining its fetch):
 * not with Set-Cookie or Vary, nor with Cache-Control `no-store`, `private` or `no-cache`.
 */
export function shareable(headers: HeaderMap): boolean {
  if (headers['set-cookie'] !== undefined || headers.vary !== undefined) return false;
  const cc = directives(headerValue(headers['cache-control']));
  return !(cc.has('no-store') || cc.has('private') || cc.has('no-cache'));
}

/**
 * How long a shared cache may keep a response, in ms (0 = not at all): responses that are not `shareable` and
 * non-200 statuses are never kept; otherwise `s-maxage`, then `max-age`, then the route default.
 */
export function cacheTtlMs(status: number, headers: HeaderMap, routeDefaultMs: number): number {
  if (status !== 200 || !shareable(headers)) return 0;
  const cc = directives(headerValue(headers['cache-control']));
  const shared = seconds(cc.get('s-maxage'));
  if (shared !== undefined) return shared * 1000;
  const max = seconds(cc.get('max-age'));
  if (max !== undefined) return max * 1000;
  return routeDefaultMs;
}

/** Cache key: method, normalised path and the query with its parameters sorted. */
export function cacheKey(method: string, path: string, query: string): string {
  const params = [...new URLSearchParams(query)].sort(([ak, av], [bk, bv]) =>
    ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1,
  );
  const normalized = new URLSearchParams(params).toString();
  return `${method} ${path}${normalized ? `?${normalized}` : ''}`;
}
