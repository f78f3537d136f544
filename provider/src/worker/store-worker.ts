import type { FastifyBaseLogger } from 'fastify';
import type { BusMessage, MessageBus, Subscription } from '@lizards/lib';
import type { TickWriter } from '../store/price-repository.js';
import { parseBusTick, toLiveTick, type NewTick, type StoredTick } from '../ticks/tick-schema.js';
import { isDataError } from './store-errors.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface StoreWorkerOptions {
  bus: MessageBus;
  writer: TickWriter;
  queue: string;
  liveExchange: string;
  prefetch: number;
  batchSize: number;
  batchWaitMs: number;
  log: FastifyBaseLogger;
  metrics: WorkerMetrics;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Pending {
  message: BusMessage;
  tick: NewTick;
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
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private generation = 0;
  private offState: (() => void) | undefined;
  private wakeRetry: (() => void) | undefined;
  private healthy = true;

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
    this.offState?.();
    await this.subscription?.cancel();
  }

  private abandonPending(): void {
    this.generation++;
    this.pending = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeRetry?.();
  }

  private async accept(message: BusMessage): Promise<void> {
    // Left unsettled: the broker hands it to another consumer once this one is gone.
    if (this.stopped) return;
    const parsed = parseBusTick(message.body, message.headers);
    if (!parsed.ok) {
      this.opts.metrics.deadLettered.inc();
      this.opts.log.warn({ reason: parsed.reason, messageId: message.messageId }, 'tick dead-lettered');
      await message.deadLetter(parsed.reason);
      return;
    }
    this.pending.push({ message, tick: parsed.tick });
    if (this.pending.length >= this.opts.batchSize) this.kick();
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
      const batch = this.pending.splice(0, this.opts.batchSize);
      await this.storeBatch(batch, this.generation);
    }
  }

  private async storeBatch(batch: Pending[], generation: number): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (generation !== this.generation) return;
      const end = this.opts.metrics.batchSeconds.startTimer();
      try {
        const { inserted } = await this.opts.writer.write(batch.map((p) => p.tick));
        end();
        this.healthy = true;
        for (const p of batch) p.message.ack();
        this.opts.metrics.stored.inc(inserted.length);
        this.opts.metrics.duplicates.inc(batch.length - inserted.length);
        await this.announce(inserted);
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

  /** A batch the database refused for its data: find the culprits, store the rest. */
  private async storeOneByOne(batch: Pending[], generation: number): Promise<void> {
    for (const p of batch) {
      if (generation !== this.generation) return;
      try {
        await this.storeBatchStrict(p);
      } catch (err) {
        if (!isDataError(err)) {
          await this.storeBatch([p], generation);
          continue;
        }
        this.opts.metrics.deadLettered.inc();
        const reason = `rejected by the database: ${(err as Error).message}`;
        this.opts.log.warn({ reason, messageId: p.message.messageId }, 'tick dead-lettered');
        await p.message.deadLetter(reason);
      }
    }
  }

  private async storeBatchStrict(p: Pending): Promise<void> {
    const { inserted } = await this.opts.writer.write([p.tick]);
    p.message.ack();
    this.opts.metrics.stored.inc(inserted.length);
    this.opts.metrics.duplicates.inc(1 - inserted.length);
    await this.announce(inserted);
  }

  private async announce(inserted: StoredTick[]): Promise<void> {
    if (inserted.length === 0) return;
    const body = Buffer.from(JSON.stringify({ ticks: inserted.map(toLiveTick) }));
    try {
      await this.opts.bus.publish(this.opts.liveExchange, '', body);
    } catch (err) {
      // The rows are committed; hubs also poll the store, so a lost announcement only delays pushes.
      this.opts.log.warn({ err, count: inserted.length }, 'live announcement failed');
    }
  }

  private backoff(attempt: number): number {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5000;
    const base = Math.min(max, min * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }
}
