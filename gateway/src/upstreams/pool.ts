import type { LookupFunction } from 'node:net';
import { Pool } from 'undici';

export interface PoolOptions {
  /** Keep-alive connections per instance. */
  connections: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

/** One keep-alive undici Pool per upstream origin, kept only while the origin is in the directory. */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly opts: PoolOptions) {}

  /**
   * The pool of an origin (`http://host:port`), created on first use; its connections resolve the host with `lookup`.
   */
  get(origin: string, lookup: LookupFunction): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.opts.connections,
        connectTimeout: this.opts.connectTimeoutMs,
        connect: { lookup },
        keepAliveTimeout: this.opts.keepAliveTimeoutMs ?? 10_000,
        pipelining: 1,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes the pools of origins no longer listed; in-flight requests finish first. */
  retain(origins: Iterable<string>): void {
    const keep = new Set(origins);
    for (const [origin, pool] of this.pools) {
      if (keep.has(origin)) continue;
      this.pools.delete(origin);
      void pool.close().catch(() => pool.destroy());
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }
}
