import type { Redis } from 'ioredis';

/** The local budget of a key between syncs is ⌊max / BUDGET_DIVISOR⌋ (0 when max is small: always exact). */
const BUDGET_DIVISOR = 64;
/** Keys with a local view at most (others always go to Redis). */
const MAX_VIEWS = 10_000;

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** Adds a batch of requests to a counter; starts the window (PEXPIRE) when the key has none, as RedisStore does. */
const ADD_LUA = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {current, ttl}`;

type AddCommand = (
  key: string,
  delta: number,
  windowMs: number,
  cb: (err: Error | null, result?: [number, number]) => void,
) => void;
interface RedisWithAdd extends Redis {
  lzRateLimitAdd: AddCommand;
}

/** What this replica knows of one counter. */
interface KeyView {
  /** The count in Redis at the last answer (every replica's requests added so far). */
  shared: number;
  /** Requests admitted here since then, not yet added to Redis. */
  pending: number;
  /** End of the Redis key's window (epoch ms), from its PTTL at the last answer. */
  resetAt: number;
  syncedAt: number;
  windowMs: number;
  /** Requests a replica may admit on this view between two syncs. */
  budget: number;
}

export interface BatchedRedisStoreOptions {
  redis: Redis;
  prefix: string;
  /** How often counts admitted locally are added to Redis; 0 = every request goes to Redis. */
  syncMs: number;
  /** Called with the error when a batch could not be added (its requests are then not counted in Redis). */
  onSyncError?: (err: Error) => void;
}

/**
 * Rate-limit counters in Redis, shared by the gateway replicas, without a Redis round trip per request:
 * while a key's count is well under its limit, a replica admits up to ⌊max / 64⌋ requests between two syncs on
 * its own recent view (the Redis count at its last sync plus what it admitted since) and adds them to Redis in one
 * pipelined batch every `syncMs`. Near the limit, on a view older than two syncs, and for small limits, each request
 * goes to Redis (INCRBY + window as @fastify/rate-limit's RedisStore). Past the limit, a request within the known
 * window is refused at once and counted in the next batch. The same `incr` contract as the plugin's stores.
 *
 * Tolerance: a replica does not see what the others admitted since its view was taken (up to about 4 budgets each:
 * their pending requests plus the batches of the last two syncs), less the budget it keeps as a margin below the
 * limit; so a window admits at most about (replicas − 1) × 4 × ⌊max / 64⌋ requests beyond `max` (≈ 6 % of the limit
 * per additional replica). With one replica, or max < 64, the limit is exact.
 */
export class BatchedRedisStore {
  private readonly views = new Map<string, KeyView>();
  private readonly dirty = new Set<string>();
  private readonly redis: RedisWithAdd;
  private timer: NodeJS.Timeout | undefined;
  private nextSweep = 0;

  constructor(private readonly opts: BatchedRedisStoreOptions) {
    this.redis = opts.redis as RedisWithAdd;
    if (!this.redis.lzRateLimitAdd) this.redis.defineCommand('lzRateLimitAdd', { numberOfKeys: 1, lua: ADD_LUA });
    if (opts.syncMs > 0) {
      this.timer = setInterval(() => this.sync(), opts.syncMs);
      this.timer.unref();
    }
  }

  incr(key: string, cb: Callback, timeWindow: number, max: number): void {
    const now = Date.now();
    const view = this.views.get(key);
    if (view && now < view.resetAt && now - view.syncedAt <= 2 * this.opts.syncMs) {
      const known = view.shared + view.pending;
      // Past the limit the count only grows until the window ends: refused without asking Redis.
      if (view.shared >= max || (view.pending < view.budget && known + 1 <= max - view.budget)) {
        view.pending += 1;
        this.dirty.add(key);
        cb(null, { current: known + 1, ttl: view.resetAt - now });
        return;
      }
    }
    this.addNow(key, cb, timeWindow, max, now);
  }

  /** Adds pending counts to Redis in one pipeline (also run every `syncMs`). */
  sync(): Promise<void> {
    const now = Date.now();
    if (now >= this.nextSweep) this.sweep(now);
    if (this.dirty.size === 0) return Promise.resolve();
    const batch: { key: string; view: KeyView; delta: number }[] = [];
    const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      lzRateLimitAdd(key: string, delta: number, windowMs: number): void;
    };
    for (const key of this.dirty) {
      const view = this.views.get(key);
      if (!view || view.pending === 0 || now >= view.resetAt) continue;
      batch.push({ key, view, delta: view.pending });
      pipeline.lzRateLimitAdd(this.opts.prefix + key, view.pending, view.windowMs);
      view.pending = 0;
    }
    this.dirty.clear();
    if (batch.length === 0) return Promise.resolve();
    return pipeline.exec().then(
      (results) => {
        const answered = Date.now();
        results?.forEach(([err, result], i) => {
          const { key, view } = batch[i]!;
          if (err) {
            this.opts.onSyncError?.(err);
            return;
          }
          if (this.views.get(key) === view) this.remember(view, result as [number, number], answered);
        });
      },
      (err: Error) => this.opts.onSyncError?.(err),
    );
  }

  /** Stops the periodic sync after adding what is pending. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.redis.status === 'ready') await this.sync().catch(() => undefined);
  }

  /** One request (plus what is pending for the key) added to Redis now; its answer is the exact count. */
  private addNow(key: string, cb: Callback, timeWindow: number, max: number, now: number): void {
    let view = this.views.get(key);
    let delta = 1;
    if (view && now < view.resetAt) {
      delta += view.pending;
      view.pending = 0;
    } else if (view) {
      this.views.delete(key);
      view = undefined;
    }
    this.redis.lzRateLimitAdd(this.opts.prefix + key, delta, timeWindow, (err, result) => {
      if (err || !result) return cb(err ?? new Error('no answer from Redis'));
      const answered = Date.now();
      if (this.opts.syncMs > 0) {
        const current = this.views.get(key) ?? view;
        if (current) {
          this.remember(current, result, answered);
        } else if (this.views.size < MAX_VIEWS) {
          const budget = Math.floor(max / BUDGET_DIVISOR);
          this.views.set(key, { shared: 0, pending: 0, resetAt: 0, syncedAt: 0, windowMs: timeWindow, budget });
          this.remember(this.views.get(key)!, result, answered);
        }
      }
      cb(null, { current: result[0], ttl: result[1] });
    });
  }

  private remember(view: KeyView, [current, ttl]: [number, number], at: number): void {
    // Answers may arrive out of order: the count in Redis never goes down within a window.
    if (current < view.shared && at < view.resetAt) return;
    view.shared = current;
    view.resetAt = at + ttl;
    view.syncedAt = at;
  }

  /** Forgets views whose window has ended (what they had pending no longer matters). */
  private sweep(now: number): void {
    this.nextSweep = now + 1000;
    for (const [key, view] of this.views) if (now >= view.resetAt) this.views.delete(key);
  }
}
