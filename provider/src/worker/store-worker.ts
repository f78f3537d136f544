import type { FastifyBaseLogger } from 'fastify';
import type { BusMessage, MessageBus, Subscription } from '@lizards/lib';
import type { TickWriter } from '../store/price-repository.js';
import { toLiveTick, type NewTick, type StoredTick } from '../ticks/tick-schema.js';
import { isDataError } from './store-errors.js';
import { parseTickMessage } from './tick-message.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface StoreWorkerOptions {
  bus: MessageBus;
  writer: TickWriter;
  queue: string;
  liveExchange: string;
  /** Most unacked messages held (a message carries one tick or several of one symbol). */
  prefetch: number;
  /** Ticks per insert; a batch is whole messages, so one large message may exceed it. */
  batchSize: number;
  batchWaitMs: number;
  log: FastifyBaseLogger;
  metrics: WorkerMetrics;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Pending {
  message: BusMessage;
  ticks: NewTick[];
}

/**
 * Consumes the store queue: batches deliveries, writes each batch in one transaction, acks only
 * after the commit, then announces the inserted rows on the live exchange. While the database is
 * down it keeps the batch unacked and retries with backoff; the prefetch bound stops the broker
 * from sending more, so nothing is lost and memory stays bounded.
 */
export class StoreWorker {
  private subscription: Subscription | undefined;
  private pending: Pending[] = [];
  private pendingTicks = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private generation = 0;
  private offState: (() => void) | undefined;
  private wakeRetry: (() => void) | undefined;
  private healthy = true;
  private readonly announcing = new Set<Promise<void>>();

  constructor(private readonly opts: StoreWorkerOptions) {}

  /** True unless the last write failed for a reason other than the data. */
  get storeHealthy(): boolean {
    return this.healthy;
  }

  async start(): Promise<void> {
    this.offState = this.opts.bus.onStateChange((state) => {
      // Deliveries of a lost channel come again from the broker; settling them is impossible now.
      if (state !== 'connected') this.abandonPending();
    });
    this.subscription = await this.opts.bus.consume(this.opts.queue, (m) => this.accept(m), {
      prefetch: this.opts.prefetch,
    });
  }

  /** Lets the batch being written finish and ack; what is still pending goes back to the broker with the channel. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wakeRetry?.();
    await this.draining;
    await Promise.all(this.announcing);
    this.offState?.();
    await this.subscription?.cancel();
  }

  private abandonPending(): void {
    this.generation++;
    this.pending = [];
    this.pendingTicks = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeRetry?.();
  }

  private async accept(message: BusMessage): Promise<void> {
    // Left unsettled: the broker hands it to another consumer once this one is gone.
    if (this.stopped) return;
    const parsed = parseTickMessage(message.body, message.headers);
    if (!parsed.ok) {
      this.opts.metrics.deadLettered.inc();
      this.opts.log.warn({ reason: parsed.reason, messageId: message.messageId }, 'tick dead-lettered');
      await message.deadLetter(parsed.reason);
      return;
    }
    this.pending.push({ message, ticks: parsed.ticks });
    this.pendingTicks += parsed.ticks.length;
    if (this.pendingTicks >= this.opts.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.opts.batchWaitMs);
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      if (this.pending.length > 0 && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.stopped) {
      await this.storeBatch(this.takeBatch(), this.generation);
    }
  }

  /** Whole messages from the front of the queue, up to `batchSize` ticks (at least one message). */
  private takeBatch(): Pending[] {
    let n = 0;
    let ticks = 0;
    while (n < this.pending.length && (n === 0 || ticks + this.pending[n]!.ticks.length <= this.opts.batchSize)) {
      ticks += this.pending[n]!.ticks.length;
      n++;
    }
    this.pendingTicks -= ticks;
    return this.pending.splice(0, n);
  }

  private async storeBatch(batch: Pending[], generation: number): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (generation !== this.generation) return;
      const end = this.opts.metrics.batchSeconds.startTimer();
      try {
        const ticks = batch.length === 1 ? batch[0]!.ticks : batch.flatMap((p) => p.ticks);
        const { inserted } = await this.opts.writer.write(ticks);
        end();
        this.healthy = true;
        for (const p of batch) p.message.ack();
        this.opts.metrics.stored.inc(inserted.length);
        this.opts.metrics.duplicates.inc(ticks.length - inserted.length);
        this.announce(inserted);
        return;
      } catch (err) {
        if (isDataError(err)) {
          await this.storeOneByOne(batch, generation);
          return;
        }
        this.healthy = false;
        this.opts.metrics.storeErrors.inc();
        const delay = this.backoff(attempt++);
        this.opts.log.warn({ err, attempt, delayMs: Math.round(delay), size: batch.length }, 'store write failed; retrying');
        if (this.stopped) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wakeRetry = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeRetry = undefined;
        if (this.stopped) return;
      }
    }
  }

  /**
   * A batch the database refused for its data: find the culprits, store the rest. A message of several ticks
   * that the database refuses is stored tick by tick; if any tick is refused, the whole message goes to the
   * dead-letter queue after the others are stored (replaying it later is safe: the upsert is idempotent).
   */
  private async storeOneByOne(batch: Pending[], generation: number): Promise<void> {
    for (const p of batch) {
      if (generation !== this.generation) return;
      let refused: Error | undefined;
      try {
        refused = await this.writeFindingRefusal(p.ticks);
      } catch {
        // Not the data (e.g. the database went away): retried with back-off like any batch.
        await this.storeBatch([p], generation);
        continue;
      }
      if (!refused) {
        p.message.ack();
        continue;
      }
      this.opts.metrics.deadLettered.inc();
      const reason = `rejected by the database: ${refused.message}`;
      this.opts.log.warn({ reason, messageId: p.message.messageId }, 'tick dead-lettered');
      await p.message.deadLetter(reason);
    }
  }

  /** Writes the ticks, each alone if the database refuses them together; returns the first refusal, throws other errors. */
  private async writeFindingRefusal(ticks: NewTick[]): Promise<Error | undefined> {
    try {
      await this.writeStrict(ticks);
      return undefined;
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (ticks.length === 1) return err as Error;
    }
    let refused: Error | undefined;
    for (const t of ticks) {
      try {
        await this.writeStrict([t]);
      } catch (err) {
        if (!isDataError(err)) throw err;
        refused ??= err as Error;
      }
    }
    return refused;
  }

  private async writeStrict(ticks: NewTick[]): Promise<void> {
    const { inserted } = await this.opts.writer.write(ticks);
    this.opts.metrics.stored.inc(inserted.length);
    this.opts.metrics.duplicates.inc(ticks.length - inserted.length);
    this.announce(inserted);
  }

  /**
   * Publishes the inserted rows on the live exchange without holding up the next batch: the channel keeps
   * announcements in commit order, and stop() waits for the ones still unconfirmed.
   */
  private announce(inserted: StoredTick[]): void {
    if (inserted.length === 0) return;
    const body = Buffer.from(JSON.stringify({ ticks: inserted.map(toLiveTick) }));
    const sent = this.opts.bus.publish(this.opts.liveExchange, '', body).catch((err: unknown) => {
      // The rows are committed; hubs also poll the store, so a lost announcement only delays pushes.
      this.opts.log.warn({ err, count: inserted.length }, 'live announcement failed');
    });
    this.announcing.add(sent);
    void sent.finally(() => this.announcing.delete(sent));
  }

  private backoff(attempt: number): number {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5000;
    const base = Math.min(max, min * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }
}
