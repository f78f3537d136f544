import { Type, type TProperties } from '@sinclair/typebox';
import type { QueueType, Topology } from './message-bus.js';

/** The prices exchange and the store queue every tick goes through on its way to PostgreSQL. */
export interface StoreTopologyOptions {
  /** Topic exchange ingestion publishes ticks to (routing key = symbol). */
  exchange: string;
  /** Durable queue bound to all of it, consumed by the providers' workers. */
  queue: string;
  queueType: QueueType;
  /** Quorum queues: returns of one message before it is dead-lettered (a poison message cannot loop forever). */
  deliveryLimit: number;
}

/** The settings of the store topology, the same variables in ingestion and the provider. */
export const storeTopologyConfigProperties = {
  PRICES_EXCHANGE: Type.String({ default: 'prices', minLength: 1, description: 'topic exchange of the ticks' }),
  STORE_QUEUE: Type.String({
    default: 'prices.store',
    minLength: 1,
    description: 'durable store queue (dead letters in <queue>.dlq)',
  }),
  STORE_QUEUE_TYPE: Type.Union([Type.Literal('quorum'), Type.Literal('classic')], {
    default: 'quorum',
    description: 'type of the store queue and its dead-letter queue; an existing queue keeps its type',
  }),
  STORE_DELIVERY_LIMIT: Type.Integer({
    default: 20,
    minimum: 1,
    description: 'quorum: deliveries of one message before it is dead-lettered',
  }),
} satisfies TProperties;

/** The store topology from the validated settings of `storeTopologyConfigProperties`. */
export function storeTopologyOptions(config: {
  PRICES_EXCHANGE: string;
  STORE_QUEUE: string;
  STORE_QUEUE_TYPE: QueueType;
  STORE_DELIVERY_LIMIT: number;
}): StoreTopologyOptions {
  return {
    exchange: config.PRICES_EXCHANGE,
    queue: config.STORE_QUEUE,
    queueType: config.STORE_QUEUE_TYPE,
    deliveryLimit: config.STORE_DELIVERY_LIMIT,
  };
}

/**
 * The prices exchange and the store queue bound to all of it, with its dead-letter queue. Ingestion (which
 * publishes) and the provider (which consumes) both declare exactly this, so ticks have a queue to go to whichever
 * starts first, and the two declarations can never disagree.
 */
export function storeTopology(opts: StoreTopologyOptions): Topology {
  return {
    exchanges: [{ name: opts.exchange, type: 'topic' }],
    queues: [
      {
        name: opts.queue,
        durable: true,
        type: opts.queueType,
        ...(opts.queueType === 'quorum' ? { deliveryLimit: opts.deliveryLimit } : {}),
        deadLetter: true,
        bindings: [{ exchange: opts.exchange, pattern: '#' }],
      },
    ],
  };
}
