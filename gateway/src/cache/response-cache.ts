/** A stored upstream response. */
export interface CachedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Epoch ms when it was stored (for the Age header). */
  storedAt: number;
}

/** Where cached responses live: Redis shared by every gateway replica, or an in-process LRU. */
export interface ResponseCache {
  /** The entry under `key`, or undefined; rejects when the store cannot be reached. */
  get(key: string): Promise<CachedResponse | undefined>;
  /** Stores `value` for `ttlMs`; rejects when the store cannot be reached. */
  set(key: string, value: CachedResponse, ttlMs: number): Promise<void>;
  /** Whether the store is usable right now (false skips it without waiting for a timeout). */
  readonly available: boolean;
}
