import { LRUCache } from 'lru-cache';
import type { CachedResponse, ResponseCache } from './response-cache.js';

/** Per-entry bookkeeping (key, status, timestamps, the LRU's own node) counted on top of body and headers. */
const ENTRY_OVERHEAD_BYTES = 256;

/** Bytes an entry is charged: its body, its header names and values, and a fixed overhead. */
function entryBytes(value: CachedResponse, key: string): number {
  let bytes = ENTRY_OVERHEAD_BYTES + key.length + value.body.length;
  for (const [name, v] of Object.entries(value.headers))
    bytes += name.length + (Array.isArray(v) ? v.reduce((n, s) => n + s.length, 0) : v.length);
  return bytes;
}

/** In-process LRU with a TTL per entry, bounded by bytes: the cache of a gateway started without REDIS_URL. */
export class MemoryResponseCache implements ResponseCache {
  readonly available = true;
  private readonly lru: LRUCache<string, CachedResponse>;

  /** `maxBytes` bounds the sum of the entries' sizes; an entry larger than that is not stored. */
  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, CachedResponse>({
      maxSize: maxBytes,
      sizeCalculation: entryBytes,
      ttlAutopurge: false,
    });
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: CachedResponse, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: ttlMs });
  }
}
