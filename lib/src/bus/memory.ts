import { onNextTurn } from '../scheduling/next-turn.js';
import { BusClosedError, BusUnroutableError, UnknownExchangeError, UnknownQueueError } from '../errors.js';
import {
  DEAD_LETTER_REASON_HEADER,
  deadLetterQueueName,
  topicMatches,
  type BusMessage,
  type BusState,
  type ConsumeOptions,
  type ExchangeType,
  type MessageBus,
  type MessageHandler,
  type OutgoingMessage,
  type PublishOptions,
  type QueueSpec,
  type Subscription,
  type Topology,
} from './message-bus.js';

interface StoredMessage {
  body: Buffer;
  exchange: string;
  routingKey: string;
  headers: Record<string, unknown>;
  messageId: string | undefined;
  redelivered: boolean;
  /** Times the message went back to its queue (requeued, or held by a consumer that went away). */
  returns: number;
}

interface Consumer {
  queue: MemoryQueue;
  owner: MemoryBus;
  handler: MessageHandler;
  prefetch: number;
  unacked: Set<StoredMessage>;
  active: boolean;
}

class MemoryQueue {
  readonly ready: StoredMessage[] = [];
  readonly consumers: Consumer[] = [];
  readonly bindings: { exchange: string; pattern: string }[] = [];
  private next = 0;
  /** Delivers what is ready on the next turn, once however many messages came in this one. */
  readonly schedule = onNextTurn(() => this.dispatch());

  constructor(
    readonly spec: QueueSpec,
    readonly owner: MemoryBus | undefined,
    private readonly broker: MemoryBroker,
  ) {}

  enqueue(message: StoredMessage): void {
    this.ready.push(message);
    this.schedule();
  }

  /**
   * Puts a delivered message back at the front, or dead-letters it once it came back more than the queue's delivery
   * limit.
   */
  giveBack(message: StoredMessage): void {
    const returned: StoredMessage = { ...message, redelivered: true, returns: message.returns + 1 };
    const limit = this.spec.type === 'quorum' ? this.spec.deliveryLimit : undefined;
    if (limit !== undefined && returned.returns > limit) {
      this.broker.deadLetter(this, returned, 'delivery_limit');
      return;
    }
    this.ready.unshift(returned);
    this.schedule();
  }

  private dispatch(): void {
    while (this.ready.length > 0) {
      const consumer = this.pickConsumer();
      if (!consumer) return;
      const message = this.ready.shift()!;
      consumer.unacked.add(message);
      this.deliver(consumer, message);
    }
  }

  private pickConsumer(): Consumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const c = this.consumers[(this.next + i) % this.consumers.length]!;
      if (c.active && c.unacked.size < c.prefetch) {
        this.next = (this.next + i + 1) % this.consumers.length;
        return c;
      }
    }
    return undefined;
  }

  private deliver(consumer: Consumer, stored: StoredMessage): void {
    let settled = false;
    const settle = (): boolean => {
      if (settled || !consumer.unacked.has(stored)) return false;
      settled = true;
      consumer.unacked.delete(stored);
      this.schedule();
      return true;
    };
    const nack = (requeue: boolean, reason?: string): void => {
      if (!settle()) return;
      if (requeue) this.giveBack(stored);
      else this.broker.deadLetter(this, stored, reason ?? 'rejected');
    };
    const message: BusMessage = {
      body: stored.body,
      exchange: stored.exchange,
      routingKey: stored.routingKey,
      headers: stored.headers,
      messageId: stored.messageId,
      redelivered: stored.redelivered,
      get stale() {
        return settled || !consumer.unacked.has(stored);
      },
      ack: () => void settle(),
      nack: (opts) => nack(opts?.requeue ?? true),
      deadLetter: async (reason) => nack(false, reason),
    };
    Promise.resolve()
      .then(() => consumer.handler(message))
      .catch(() => nack(!stored.redelivered, 'handler failed twice'));
  }
}

/**
 * An in-process broker: exchanges, queues, bindings and consumers, shared by the MemoryBus connections made from it.
 */
export class MemoryBroker {
  private readonly exchanges = new Map<string, ExchangeType>();
  private readonly queues = new Map<string, MemoryQueue>();

  /** Opens a connection to this broker. */
  connect(): MemoryBus {
    return new MemoryBus(this);
  }

  /** Number of ready (undelivered) messages in a queue: for tests and metrics. */
  depth(queue: string): number {
    const q = this.queues.get(queue);
    if (!q) throw new UnknownQueueError(queue);
    return q.ready.length;
  }

  hasQueue(queue: string): boolean {
    return this.queues.has(queue);
  }

  /** @internal */
  declare(topology: Topology, owner: MemoryBus): void {
    for (const ex of topology.exchanges ?? []) this.exchanges.set(ex.name, ex.type);
    for (const spec of topology.queues ?? []) {
      let queue = this.queues.get(spec.name);
      if (!queue) {
        queue = new MemoryQueue(spec, spec.exclusive ? owner : undefined, this);
        this.queues.set(spec.name, queue);
      }
      if (spec.deadLetter) {
        const dlq = deadLetterQueueName(spec.name);
        if (!this.queues.has(dlq)) this.queues.set(dlq, new MemoryQueue({ name: dlq, durable: true }, undefined, this));
      }
      for (const b of spec.bindings ?? []) {
        if (!this.exchanges.has(b.exchange)) throw new UnknownExchangeError(b.exchange);
        if (!queue.bindings.some((x) => x.exchange === b.exchange && x.pattern === b.pattern)) queue.bindings.push(b);
      }
    }
  }

  /** @internal */
  publish(msg: OutgoingMessage): void {
    const type = this.exchanges.get(msg.exchange);
    if (!type) throw new UnknownExchangeError(msg.exchange);
    const stored: StoredMessage = {
      body: msg.body,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      headers: { ...(msg.options?.headers ?? {}) },
      messageId: msg.options?.messageId,
      redelivered: false,
      returns: 0,
    };
    const routed = [...this.queues.values()].filter((queue) =>
      queue.bindings.some(
        (b) =>
          b.exchange === msg.exchange &&
          (type === 'fanout' ||
            (type === 'direct' ? b.pattern === msg.routingKey : topicMatches(b.pattern, msg.routingKey))),
      ),
    );
    if (routed.length === 0 && msg.options?.mandatory) throw new BusUnroutableError(msg.exchange, msg.routingKey);
    for (const queue of routed) queue.enqueue(stored);
  }

  /** @internal */
  consume(queueName: string, consumer: Omit<Consumer, 'queue' | 'unacked' | 'active'>): Consumer {
    const queue = this.queues.get(queueName);
    if (!queue) throw new UnknownQueueError(queueName);
    const c: Consumer = { ...consumer, queue, unacked: new Set(), active: true };
    queue.consumers.push(c);
    queue.schedule();
    return c;
  }

  /** @internal Cancels a consumer; what it held unacked goes back to the front of its queue, marked redelivered. */
  cancel(consumer: Consumer): void {
    if (!consumer.active) return;
    consumer.active = false;
    const queue = consumer.queue;
    queue.consumers.splice(queue.consumers.indexOf(consumer), 1);
    const held = [...consumer.unacked].reverse();
    consumer.unacked.clear();
    for (const m of held) queue.giveBack(m);
  }

  /** @internal */
  dropExclusive(owner: MemoryBus): void {
    for (const [name, queue] of this.queues) if (queue.owner === owner) this.queues.delete(name);
  }

  /** @internal */
  deadLetter(queue: MemoryQueue, stored: StoredMessage, reason: string): void {
    if (!queue.spec.deadLetter) return;
    const dlq = this.queues.get(deadLetterQueueName(queue.spec.name));
    dlq?.enqueue({
      ...stored,
      redelivered: false,
      returns: 0,
      headers: { ...stored.headers, [DEAD_LETTER_REASON_HEADER]: reason },
    });
  }
}

/** A connection to a MemoryBroker implementing the MessageBus port. */
export class MemoryBus implements MessageBus {
  readonly kind = 'memory' as const;
  private readonly consumers = new Set<Consumer>();
  private readonly listeners = new Set<(state: BusState) => void>();
  private closed = false;

  constructor(private readonly broker: MemoryBroker) {}

  get state(): BusState {
    return this.closed ? 'closed' : 'connected';
  }

  async declare(topology: Topology): Promise<void> {
    this.assertOpen();
    this.broker.declare(topology, this);
  }

  async publish(exchange: string, routingKey: string, body: Buffer, options?: PublishOptions): Promise<void> {
    this.assertOpen();
    this.broker.publish({ exchange, routingKey, body, ...(options ? { options } : {}) });
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    for (const m of messages) this.broker.publish(m);
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    const consumer = this.broker.consume(queue, { owner: this, handler, prefetch: Math.max(1, options.prefetch) });
    this.consumers.add(consumer);
    return {
      cancel: async () => {
        this.consumers.delete(consumer);
        this.broker.cancel(consumer);
      },
    };
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.consumers) this.broker.cancel(c);
    this.consumers.clear();
    this.broker.dropExclusive(this);
    for (const l of this.listeners) l('closed');
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }
}
