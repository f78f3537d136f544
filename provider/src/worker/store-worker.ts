import type { FastifyBaseLogger } from 'fastify';
import { backoffDelay, sleep, type BusMessage, type MessageBus, type Subscription } from '@lizards/lib';
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
 * from sending more, so nothing is lost and memory stays bounded. Deliveries whose channel is gone
 * (a lost connection, a channel the broker closed) are dropped: the broker delivers them again.
 */
export class StoreWorker {
  private subscription: Subscription | undefined;
  private pending: Pending[] = [];
  private pendingTicks = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private offState: (() => void) | undefined;
  /** Aborts the pause before a retry. */
  private retryWait: AbortController | undefined;
  private healthy = true;
  private readonly announcing = new Set<Promise<void>>();

  constructor(private readonly opts: StoreWorkerOptions) {}

  /** True unless the last write failed for a reason other than the data. */
  get storeHealthy(): boolean {
    return this.healthy;
  }

  async start(): Promise<void> {
    this.offState = this.opts.bus.onStateChange((state) => {
      // Every delivery held is stale now: stop waiting to retry them.
      if (state !== 'connected') this.retryWait?.abort();
    });
    this.subscription = await this.opts.bus.consume(this.opts.queue, (m) => this.accept(m), {
      prefetch: this.opts.prefetch,
    });
  }

  /** Lets the batch being written finish and ack; what is still pending goes back to the broker with the channel. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.retryWait?.abort();
    await this.draining;
    await Promise.all(this.announcing);
    this.offState?.();
    await this.subscription?.cancel();
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
    this.draining ??= this.drain()
      .catch((err: unknown) => this.opts.log.error({ err }, 'store worker failed a batch; its deliveries come again'))
      .finally(() => {
        this.draining = undefined;
        if (this.pending.length > 0 && !this.stopped) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      await this.storeBatch(batch);
    }
  }

  /**
   * Whole messages from the front of the queue, up to `batchSize` ticks (at least one message); stale deliveries are
   * dropped.
   */
  private takeBatch(): Pending[] {
    if (this.pending.some((p) => p.message.stale)) {
      this.pending = this.pending.filter((p) => !p.message.stale);
      this.pendingTicks = this.pending.reduce((sum, p) => sum + p.ticks.length, 0);
    }
    let n = 0;
    let ticks = 0;
    while (n < this.pending.length && (n === 0 || ticks + this.pending[n]!.ticks.length <= this.opts.batchSize)) {
      ticks += this.pending[n]!.ticks.length;
      n++;
    }
    this.pendingTicks -= ticks;
    return this.pending.splice(0, n);
  }

  /**
   * Writes the batch in one transaction. If the database refuses it for its data, each message is written alone to
   * find the culprits: the others are stored, and a message with a refused tick goes to the dead-letter queue after
   * its other ticks are stored (replaying it later is safe: the upsert is idempotent).
   */
  private async storeBatch(held: Pending[]): Promise<void> {
    const together = await this.untilWritten(held, (batch) => this.writeTogether(batch));
    if (!together || together.result === 'stored') return;
    for (const p of together.batch) {
      const alone = await this.untilWritten([p], () => this.writeFindingRefusal(p.ticks));
      if (!alone) continue;
      const refused = alone.result;
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

  /**
   * Runs `write` on the deliveries still live until it ends without an error other than the data's: while the
   * database is down it retries with back-off. Undefined when every delivery went stale or the worker stopped.
   */
  private async untilWritten<T>(
    held: Pending[],
    write: (batch: Pending[]) => Promise<T>,
  ): Promise<{ batch: Pending[]; result: T } | undefined> {
    const backoff = { baseMs: this.opts.minBackoffMs ?? 100, maxMs: this.opts.maxBackoffMs ?? 5000 };
    for (let attempt = 0; ; attempt++) {
      const batch = held.filter((p) => !p.message.stale);
      if (batch.length === 0) return undefined;
      try {
        const result = await write(batch);
        this.healthy = true;
        return { batch, result };
      } catch (err) {
        this.healthy = false;
        this.opts.metrics.storeErrors.inc();
        const delay = backoffDelay(attempt, backoff);
        const retry = { attempt: attempt + 1, delayMs: Math.round(delay), size: batch.length };
        this.opts.log.warn({ err, ...retry }, 'store write failed; retrying');
        if (this.stopped) return undefined;
        this.retryWait = new AbortController();
        await sleep(delay, this.retryWait.signal);
        this.retryWait = undefined;
        if (this.stopped) return undefined;
      }
    }
  }

  /** Writes the batch in one transaction and acks it; 'refused' when the database refused it for its data. */
  private async writeTogether(batch: Pending[]): Promise<'stored' | 'refused'> {
    const end = this.opts.metrics.batchSeconds.startTimer();
    const ticks = batch.length === 1 ? batch[0]!.ticks : batch.flatMap((p) => p.ticks);
    try {
      const { inserted } = await this.opts.writer.write(ticks);
      end();
      for (const p of batch) p.message.ack();
      this.opts.metrics.stored.inc(inserted.length);
      this.opts.metrics.duplicates.inc(ticks.length - inserted.length);
      this.announce(inserted);
      return 'stored';
    } catch (err) {
      if (isDataError(err)) return 'refused';
      throw err;
    }
  }

  /**
   * Writes the ticks, each alone if the database refuses them together; returns the first refusal, throws other errors.
   */
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
}
