import type { FastifyBaseLogger } from 'fastify';
import { onNextTurn, type MessageBus, type Subscription } from '@lizards/lib';
import type { PriceRepository } from '../store/price-repository.js';
import type { StoredTick } from '../ticks/tick-schema.js';
import { decodeLiveMessage } from './live-message.js';
import { retryWhileUnavailable } from '../store/store-availability.js';

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
 * on `prices.live` are sent after the commit and carry the committed ticks. When an announcement
 * continues the cursor exactly (its seqs are cursor+1, cursor+2, ... with no hole), nothing else
 * can lie in between — seq values are unique — so its ticks are passed on as they are. Otherwise
 * (a hole left by a rolled-back or duplicate insert, another writer's announcement arriving
 * first, a lost announcement) the ticks after the cursor are read from the store: because seq
 * follows commit order, "seq > cursor" never skips a tick, and the poll covers a lost announcement.
 * Announcements that arrive together are handed on together, so a busy hub sends bigger rounds
 * rather than falling behind.
 */
export class LiveFeed {
  private current = 0n;
  private subscription: Subscription | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Announced ticks that continue the cursor, handed on at the end of this turn of the event loop. */
  private announced: StoredTick[] = [];
  private announcedUpTo = 0n;
  private readonly scheduleFlush = onNextTurn(() => this.flush());

  constructor(private readonly opts: LiveFeedOptions) {}

  /** Every tick up to here has been handed to `onTicks`. */
  get cursor(): string {
    return String(this.current);
  }

  private get position(): bigint {
    return this.announced.length > 0 ? this.announcedUpTo : this.current;
  }

  async start(): Promise<void> {
    this.current = BigInt(await retryWhileUnavailable(() => this.opts.repository.maxSeq()));
    await this.opts.bus.declare({
      exchanges: [{ name: this.opts.liveExchange, type: 'fanout' }],
      queues: [
        {
          name: this.opts.queue,
          exclusive: true,
          durable: false,
          bindings: [{ exchange: this.opts.liveExchange, pattern: '' }],
        },
      ],
    });
    this.subscription = await this.opts.bus.consume(
      this.opts.queue,
      (message) => {
        message.ack();
        const decoded = decodeLiveMessage(message.body);
        if (!decoded || this.stopped || decoded.highest <= this.position) return;
        if (!this.reading && decoded.ticks && continues(this.position, decoded.ticks)) this.announce(decoded.ticks);
        else void this.poke();
      },
      { prefetch: 100 },
    );
    this.pollTimer = setInterval(() => this.poke(), this.opts.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.announced = [];
    clearInterval(this.pollTimer);
    await this.subscription?.cancel().catch(() => {});
    await this.reading;
  }

  /** Reads whatever was committed after the cursor; coalesces calls made while a read runs. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.flush();
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

  private announce(ticks: StoredTick[]): void {
    for (const t of ticks) this.announced.push(t);
    this.announcedUpTo = BigInt(ticks[ticks.length - 1]!.seq);
    this.scheduleFlush();
  }

  private flush(): void {
    if (this.announced.length === 0) return;
    const ticks = this.announced;
    this.announced = [];
    this.current = this.announcedUpTo;
    if (!this.stopped) this.opts.onTicks(ticks);
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

/** True when the ticks' seqs are exactly after+1, after+2, ...: no committed tick can be missing in between. */
function continues(after: bigint, ticks: StoredTick[]): boolean {
  let expected = after + 1n;
  for (const t of ticks) {
    if (BigInt(t.seq) !== expected) return false;
    expected++;
  }
  return true;
}
