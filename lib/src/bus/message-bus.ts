/** The message bus port: a RabbitMQ adapter and an in-process one implement it with the same semantics. */

export type ExchangeType = 'topic' | 'fanout' | 'direct';

export interface ExchangeSpec {
  name: string;
  type: ExchangeType;
}

export interface BindingSpec {
  exchange: string;
  /** Routing pattern: topic wildcards `*` and `#`; ignored by fanout exchanges. */
  pattern: string;
}

/**
 * `quorum`: RabbitMQ's replicated queue (durable, survives the loss of a node, counts deliveries); `classic`: the older
 * single-node queue.
 */
export type QueueType = 'classic' | 'quorum';

export interface QueueSpec {
  name: string;
  /** Survives a broker restart (default true; false for exclusive queues). */
  durable?: boolean;
  /** Belongs to this connection alone and disappears with it. */
  exclusive?: boolean;
  /** Default `classic`. A queue's type cannot change once it exists. */
  type?: QueueType;
  /**
   * Quorum queues: a message returned this many times (requeued, or held by a consumer that went away) is dead-lettered
   * with reason `delivery_limit`.
   */
  deliveryLimit?: number;
  /** Gives the queue a dead-letter queue named `<name>.dlq` (of the same type), fed by rejections without requeue. */
  deadLetter?: boolean;
  bindings?: BindingSpec[];
}

export interface Topology {
  exchanges?: ExchangeSpec[];
  queues?: QueueSpec[];
}

export type HeaderValue = string | number | boolean | null | HeaderValue[] | { [key: string]: HeaderValue };

export interface PublishOptions {
  headers?: Record<string, HeaderValue>;
  messageId?: string;
  contentType?: string;
  /** The publish fails (LZ_ERR_BUS_UNROUTABLE) when no queue takes the message, instead of the broker dropping it. */
  mandatory?: boolean;
}

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  options?: PublishOptions;
}

export interface BusMessage {
  body: Buffer;
  exchange: string;
  routingKey: string;
  headers: Record<string, unknown>;
  messageId: string | undefined;
  /** True when the broker delivered this message before (after a nack, a lost consumer or connection). */
  redelivered: boolean;
  /**
   * True once settling this delivery can change nothing: it was settled, or the channel it came on is gone (the
   * broker delivers it again). Settling a stale delivery is a no-op, never an error.
   */
  readonly stale: boolean;
  ack(): void;
  /** Returns the message to the queue (requeue, the default) or sends it to the dead-letter queue. */
  nack(opts?: { requeue?: boolean }): void;
  /**
   * Moves the message to the queue's dead-letter queue with a reason header, then acks it. Never rejects: when the
   * dead letter cannot be published it is rejected without requeue instead, and the broker dead-letters it itself
   * (reason `rejected`, without the header).
   */
  deadLetter(reason: string): Promise<void>;
}

/**
 * Called once per delivery. The handler settles the message itself (ack/nack/deadLetter);
 * if it throws before settling, the message is requeued once and dead-lettered on its second failure.
 */
export type MessageHandler = (message: BusMessage) => void | Promise<void>;

export interface ConsumeOptions {
  /** Most unacknowledged messages this consumer holds at once. */
  prefetch: number;
}

export interface Subscription {
  cancel(): Promise<void>;
}

export type BusState = 'connected' | 'disconnected' | 'closed';

export interface MessageBus {
  readonly kind: 'rabbitmq' | 'memory';
  readonly state: BusState;
  /** Declares exchanges, queues and bindings; remembered and declared again after every reconnect. */
  declare(topology: Topology): Promise<void>;
  /** Resolves once the broker has confirmed the message; rejects when it cannot be published. */
  publish(exchange: string, routingKey: string, body: Buffer, options?: PublishOptions): Promise<void>;
  /** Publishes several messages; resolves once all are confirmed. */
  publishBatch(messages: OutgoingMessage[]): Promise<void>;
  /** Starts consuming; consumers are re-established after a reconnect. */
  consume(queue: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription>;
  /** Listens for connection state changes. Returns a function that removes the listener. */
  onStateChange(listener: (state: BusState) => void): () => void;
  close(): Promise<void>;
}

/** Header set on dead-lettered messages, saying why. */
export const DEAD_LETTER_REASON_HEADER = 'x-lizards-dead-letter-reason';

/**
 * Why a message is in a dead-letter queue: the reason header when the consumer dead-lettered it, else the broker's
 * (`delivery_limit`, `rejected`, `expired`, from `x-first-death-reason`).
 */
export function deadLetterReasonOf(headers: Record<string, unknown>): string | undefined {
  const reason = headers[DEAD_LETTER_REASON_HEADER] ?? headers['x-first-death-reason'];
  return reason === undefined ? undefined : String(reason);
}

export const deadLetterQueueName = (queue: string): string => `${queue}.dlq`;
export const deadLetterExchangeName = (queue: string): string => `${queue}.dlx`;

/** Topic-exchange routing: `*` matches one word, `#` zero or more. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') {
      for (let n = j; n <= k.length; n++) if (match(i + 1, n)) return true;
      return false;
    }
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
