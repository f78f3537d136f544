import type { FastifyBaseLogger } from 'fastify';
import type { MessageBus, Subscription } from '@lizards/lib';
import type { NewTick } from '../ticks/tick-schema.js';
import { parseTickMessage } from '../worker/tick-message.js';

export interface ProvisionalFeedOptions {
  bus: MessageBus;
  pricesExchange: string;
  /** This instance's own queue on the prices exchange, e.g. `prices.provisional.<uuid>`. */
  queue: string;
  log: FastifyBaseLogger;
  /** Every tick ingestion publishes, as it is published (not yet stored). */
  onTicks: (ticks: NewTick[]) => void;
}

/**
 * A copy of every tick published on the `prices` exchange, for this instance alone: whichever worker
 * stores a tick, every hub sees it, so it can push it before it is stored when storing lags. The queue
 * is exclusive and not durable — a copy lost with the connection costs only a preview, never a tick.
 * Messages the worker would dead-letter are skipped here.
 */
export class ProvisionalFeed {
  private subscription: Subscription | undefined;
  private stopped = false;

  constructor(private readonly opts: ProvisionalFeedOptions) {}

  async start(): Promise<void> {
    await this.opts.bus.declare({
      exchanges: [{ name: this.opts.pricesExchange, type: 'topic' }],
      queues: [
        {
          name: this.opts.queue,
          exclusive: true,
          durable: false,
          bindings: [{ exchange: this.opts.pricesExchange, pattern: '#' }],
        },
      ],
    });
    this.subscription = await this.opts.bus.consume(
      this.opts.queue,
      (message) => {
        message.ack();
        if (this.stopped) return;
        const parsed = parseTickMessage(message.body, message.headers);
        if (parsed.ok) this.opts.onTicks(parsed.ticks);
        else this.opts.log.debug({ reason: parsed.reason }, 'provisional copy skipped');
      },
      { prefetch: 500 },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.cancel().catch(() => {});
  }
}
