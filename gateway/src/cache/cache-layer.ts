import type { FastifyBaseLogger } from 'fastify';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { clientResponseHeaders } from '../proxy/forwarded-headers.js';
import type { ProxyResponse } from '../proxy/http-proxy.js';
import { cacheTtlMs } from './cache-policy.js';
import { SingleFlight } from './single-flight.js';
import type { CachedResponse, ResponseCache } from './response-cache.js';

export interface CacheOutcome {
  response: CachedResponse;
  /** 'HIT' when served from the cache (or shared from a stored concurrent fetch), else 'MISS'. */
  xCache: 'HIT' | 'MISS';
  /** Upstream address when this caller's response came from an upstream request. */
  upstream?: string;
}

interface Flight {
  response: CachedResponse;
  fromCache: boolean;
  stored: boolean;
  upstream?: string;
}

export interface CacheLayerOptions {
  cache: ResponseCache;
  metrics: GatewayMetrics;
  maxBodyBytes: number;
  log: FastifyBaseLogger;
}

/**
 * Read-through response cache: a miss fetches from the upstream once per key however many requests wait
 * for it (single-flight), and stores the response for the TTL its Cache-Control or the route allows.
 * A store that fails or is unavailable counts as a miss; the request is proxied uncached.
 */
export class CacheLayer {
  private readonly flights = new SingleFlight<Flight>();

  constructor(private readonly opts: CacheLayerOptions) {}

  async fetch(key: string, defaultTtlMs: number, fetchUpstream: () => Promise<ProxyResponse>): Promise<CacheOutcome> {
    const { value: flight, leader } = await this.flights.run(key, () => this.lookupOrFetch(key, defaultTtlMs, fetchUpstream));
    if (!leader) return { response: flight.response, xCache: flight.fromCache || flight.stored ? 'HIT' : 'MISS' };
    return flight.fromCache ? { response: flight.response, xCache: 'HIT' } : { response: flight.response, xCache: 'MISS', ...(flight.upstream ? { upstream: flight.upstream } : {}) };
  }

  private async lookupOrFetch(key: string, defaultTtlMs: number, fetchUpstream: () => Promise<ProxyResponse>): Promise<Flight> {
    const hit = await this.safeGet(key);
    if (hit) {
      this.opts.metrics.cache.inc({ result: 'hit' });
      return { response: hit, fromCache: true, stored: false };
    }
    const res = await fetchUpstream();
    const body = Buffer.from(await res.body.arrayBuffer());
    const headers = clientResponseHeaders(res.headers) as Record<string, string | string[]>;
    const response: CachedResponse = { status: res.status, headers, body, storedAt: Date.now() };
    const ttlMs = body.length <= this.opts.maxBodyBytes ? cacheTtlMs(res.status, res.headers, defaultTtlMs) : 0;
    const stored = ttlMs > 0 && (await this.safeSet(key, response, ttlMs));
    return { response, fromCache: false, stored, upstream: res.upstream.address };
  }

  private async safeGet(key: string): Promise<CachedResponse | undefined> {
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

  private async safeSet(key: string, value: CachedResponse, ttlMs: number): Promise<boolean> {
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
