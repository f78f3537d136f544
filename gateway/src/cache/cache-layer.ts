import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { clientResponseHeaders } from '../proxy/forwarded-headers.js';
import type { ProxyResponse } from '../proxy/http-proxy.js';
import { cacheTtlMs, shareable } from './cache-policy.js';
import { readCapped } from './capped-body.js';
import { SingleFlight } from './single-flight.js';
import type { ResponseCache } from './response-cache.js';

export interface CacheOutcome {
  status: number;
  headers: Record<string, string | string[]>;
  /** The whole body, or (a response over CACHE_MAX_BODY_BYTES, never stored) a stream from the upstream. */
  body: Buffer | Readable;
  /** 'HIT' when served from the cache (or shared from a stored concurrent fetch), else 'MISS'. */
  xCache: 'HIT' | 'MISS';
  /** Seconds since it was stored, for a HIT. */
  ageS?: number;
  /** Upstream address when this caller's response came from its own upstream request. */
  upstream?: string;
}

interface Flight {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | Readable;
  /** Epoch ms it was stored at, when it came from the cache. */
  storedAt?: number;
  stored: boolean;
  /** Other callers may be given it: read whole and nothing personal in it. */
  shareable: boolean;
  upstream?: string;
}

export interface CacheLayerOptions {
  cache: ResponseCache;
  metrics: GatewayMetrics;
  maxBodyBytes: number;
  log: FastifyBaseLogger;
}

const isShareable = (flight: Flight) => flight.shareable;

/**
 * Read-through response cache: a miss fetches from the upstream once per key however many requests wait for it
 * (single-flight) when the response may be shared, and stores it for the TTL its Cache-Control or the route allows.
 * A body over `maxBodyBytes` is streamed to its one client and not stored; at most that much of it is held.
 * A store that fails or is unavailable counts as a miss; the request is proxied uncached.
 */
export class CacheLayer {
  private readonly flights = new SingleFlight<Flight>();

  constructor(private readonly opts: CacheLayerOptions) {}

  async fetch(key: string, defaultTtlMs: number, fetchUpstream: () => Promise<ProxyResponse>): Promise<CacheOutcome> {
    const { value: flight, shared } = await this.flights.run(
      key,
      () => this.lookupOrFetch(key, defaultTtlMs, fetchUpstream),
      isShareable,
    );
    const { status, headers, body } = flight;
    if (flight.storedAt !== undefined)
      return {
        status,
        headers,
        body,
        xCache: 'HIT',
        ageS: Math.max(0, Math.floor((Date.now() - flight.storedAt) / 1000)),
      };
    if (shared) return { status, headers, body, xCache: flight.stored ? 'HIT' : 'MISS' };
    return { status, headers, body, xCache: 'MISS', ...(flight.upstream ? { upstream: flight.upstream } : {}) };
  }

  private async lookupOrFetch(
    key: string,
    defaultTtlMs: number,
    fetchUpstream: () => Promise<ProxyResponse>,
  ): Promise<Flight> {
    const hit = await this.safeGet(key);
    if (hit) {
      this.opts.metrics.cache.inc({ result: 'hit' });
      return {
        status: hit.status,
        headers: hit.headers,
        body: hit.body,
        storedAt: hit.storedAt,
        stored: false,
        shareable: true,
      };
    }
    const res = await fetchUpstream();
    const headers = clientResponseHeaders(res.headers) as Record<string, string | string[]>;
    const length = Number(res.headers['content-length']);
    const read = await readCapped(res.body, this.opts.maxBodyBytes, Number.isSafeInteger(length) ? length : undefined);
    const flight = { status: res.status, headers, upstream: res.upstream.address };
    if (!read.whole) return { ...flight, body: read.stream, stored: false, shareable: false };
    const ttlMs = cacheTtlMs(res.status, res.headers, defaultTtlMs);
    const stored =
      ttlMs > 0 &&
      (await this.safeSet(key, { status: res.status, headers, body: read.whole, storedAt: Date.now() }, ttlMs));
    return { ...flight, body: read.whole, stored, shareable: shareable(res.headers) };
  }

  private async safeGet(key: string) {
    if (!this.opts.cache.available) {
      this.opts.metrics.cache.inc({ result: 'error' });
      return undefined;
    }
    try {
      const value = await this.opts.cache.get(key);
      if (!value) this.opts.metrics.cache.inc({ result: 'miss' });
      return value;
    } catch (err) {
      this.opts.metrics.cache.inc({ result: 'error' });
      this.opts.log.warn({ err }, 'response cache unavailable; proxying uncached');
      return undefined;
    }
  }

  private async safeSet(key: string, value: Parameters<ResponseCache['set']>[1], ttlMs: number): Promise<boolean> {
    if (!this.opts.cache.available) return false;
    try {
      await this.opts.cache.set(key, value, ttlMs);
      return true;
    } catch (err) {
      this.opts.log.warn({ err }, 'response cache unavailable; response not stored');
      return false;
    }
  }
}
