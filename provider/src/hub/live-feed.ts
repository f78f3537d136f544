import type { FastifyBaseLogger } from 'fastify';
import type { MessageBus, Subscription } from '@lizards/lib';
import type { PriceRepository } from '../store/price-repository.js';
import { liveMessageChecker, type StoredTick } from '../ticks/tick-schema.js';

export interface LiveFeedOptions {
  bus: MessageBus;
  repository: PriceRepository;
  liveExchange: string;
  /** This instance's own exclusive queue, e.g. `prices.live.<uuid>`. */
  queue: string;
  pollIntervalMs: number;
  log: FastifyBaseLogger;
  /** Ticks read per query. */
  pageSize?: number;
  /** Called with every newly committed tick exactly once, in seq order. */
  onTicks: (ticks: StoredTick[]) => void;
}

/**
 * The instance's stream of committed ticks, in seq order, without gaps or repeats. Announcements
 * on `prices.live` say that something was committed; the ticks themselves are read from the store
 * after the cursor. Because seq follows commit order, "seq > cursor" never skips a tick, whatever
 * order several writers' announcements arrive in, and a lost announcement only delays a push
 * until the next one or the poll.
 */
export class LiveFeed {
  private current = 0n;
  private subscription: Subscription | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly opts: LiveFeedOptions) {}

  /** Every tick up to here has been handed to `onTicks`. */
  get cursor(): string {
    return String(this.current);
  }

  async start(): Promise<void> {
    this.current = BigInt(await this.opts.repository.maxSeq());
    await this.opts.bus.declare({
      exchanges: [{ name: this.opts.liveExchange, type: 'fanout' }],
      queues: [{ name: this.opts.queue, exclusive: true, durable: false, bindings: [{ exchange: this.opts.liveExchange, pattern: '' }] }],
    });
    this.subscription = await this.opts.bus.consume(
      this.opts.queue,
      (message) => {
        message.ack();
        let body: unknown;
        try {
          body = JSON.parse(message.body.toString('utf8'));
        } catch {
          return;
        }
        if (!liveMessageChecker.Check(body)) return;
        const highest = body.ticks.reduce((max, t) => (BigInt(t.seq) > max ? BigInt(t.seq) : max), 0n);
        if (highest > this.current) this.poke();
      },
      { prefetch: 100 },
    );
    this.pollTimer = setInterval(() => this.poke(), this.opts.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    await this.subscription?.cancel().catch(() => {});
    await this.reading;
  }

  /** Reads whatever was committed after the cursor; coalesces calls made while a read runs. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readNew().finally(() => {
      this.reading = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.poke();
      }
    });
    return this.reading;
  }

  private async readNew(): Promise<void> {
    const pageSize = this.opts.pageSize ?? 2000;
    try {
      for (;;) {
        const ticks = await this.opts.repository.ticksAfter({ after: String(this.current), limit: pageSize });
        if (ticks.length === 0 || this.stopped) return;
        this.current = BigInt(ticks[ticks.length - 1]!.seq);
        this.opts.onTicks(ticks);
        if (ticks.length < pageSize) return;
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'live feed read failed; will retry');
    }
  }
}
