import { LRUCache } from 'lru-cache';
import type { CachedResponse, ResponseCache } from './response-cache.js';

/** In-process LRU with a TTL per entry: the cache of a gateway started without REDIS_URL. */
export class MemoryResponseCache implements ResponseCache {
  readonly available = true;
  private readonly lru: LRUCache<string, CachedResponse>;

  constructor(maxEntries: number) {
    this.lru = new LRUCache<string, CachedResponse>({ max: maxEntries, ttlAutopurge: false });
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: CachedResponse, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: ttlMs });
  }
}
