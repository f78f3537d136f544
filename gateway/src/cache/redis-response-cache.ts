import type { Redis } from 'ioredis';
import type { CachedResponse, ResponseCache } from './response-cache.js';

interface Stored {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  storedAt: number;
}

/** Responses in Redis under `prefix + key` with a PX expiry, shared by every gateway replica. */
export class RedisResponseCache implements ResponseCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  get available(): boolean {
    return this.redis.status === 'ready';
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    const raw = await this.redis.get(this.prefix + key);
    if (raw === null) return undefined;
    const stored = JSON.parse(raw) as Stored;
    return { ...stored, body: Buffer.from(stored.body, 'base64') };
  }

  async set(key: string, value: CachedResponse, ttlMs: number): Promise<void> {
    const stored: Stored = { ...value, body: value.body.toString('base64') };
    await this.redis.set(this.prefix + key, JSON.stringify(stored), 'PX', Math.max(1, Math.round(ttlMs)));
  }
}
