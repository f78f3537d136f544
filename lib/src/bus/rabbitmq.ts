import amqp from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import { backoffDelay } from '../retry/backoff.js';
import { BusClosedError, BusTopologyMismatchError, BusUnavailableError, BusUnroutableError } from '../errors.js';
import {
  DEAD_LETTER_REASON_HEADER,
  deadLetterExchangeName,
  deadLetterQueueName,
  type BusMessage,
  type BusState,
  type HeaderValue,
  type ConsumeOptions,
  type MessageBus,
  type MessageHandler,
  type OutgoingMessage,
  type PublishOptions,
  type QueueSpec,
  type QueueType,
  type Subscription,
  type Topology,
} from './message-bus.js';

export interface RabbitBusOptions {
  url: string;
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  /** First and largest delay between reconnect attempts. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface ConsumerRecord {
  queue: string;
  handler: MessageHandler;
  prefetch: number;
  channel: amqp.Channel | undefined;
  cancelled: boolean;
  /** A reopen after the broker closed the channel is scheduled or running. */
  reopening: boolean;
}

/** A mandatory publish awaiting its confirm; `returned` once the broker sent it back unroutable. */
interface MandatoryPublish {
  body: Buffer;
  returned: boolean;
}

/** The confirm channel publishes go through, with its mandatory publishes by exchange, routing key and messageId. */
interface PublishChannel {
  channel: amqp.ConfirmChannel;
  mandatory: Map<string, Set<MandatoryPublish>>;
}

const returnKey = (exchange: string, routingKey: string, messageId: unknown): string =>
  `${exchange}\0${routingKey}\0${String(messageId ?? '')}`;

/** AMQP reply code of a declaration the broker refused because the object exists with other arguments. */
const PRECONDITION_FAILED = 406;

const noopLog = { info() {}, warn() {}, error() {} };

/**
 * RabbitMQ adapter: publisher confirms, per-consumer channels with prefetch, reconnect with backoff, topology
 * re-declared on connect.
 */
export class RabbitBus implements MessageBus {
  readonly kind = 'rabbitmq' as const;
  private connection: amqp.ChannelModel | undefined;
  private publisher: PublishChannel | undefined;
  private readonly topologies: Topology[] = [];
  private readonly consumers = new Set<ConsumerRecord>();
  private readonly listeners = new Set<(state: BusState) => void>();
  private current: BusState = 'disconnected';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private readonly log: NonNullable<RabbitBusOptions['log']>;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: RabbitBusOptions) {
    this.log = opts.log ?? noopLog;
    this.minBackoffMs = opts.minBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
  }

  /** Creates the adapter and starts connecting in the background; await `waitUntilConnected` to block on it. */
  static create(opts: RabbitBusOptions): RabbitBus {
    const bus = new RabbitBus(opts);
    bus.connectSoon(0);
    return bus;
  }

  get state(): BusState {
    return this.current;
  }

  /** Resolves once connected; rejects after `timeoutMs`. */
  waitUntilConnected(timeoutMs = 10_000): Promise<void> {
    if (this.current === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new BusUnavailableError(`not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onStateChange((state) => {
        if (state === 'disconnected') return;
        clearTimeout(timer);
        off();
        if (state === 'connected') resolve();
        else reject(new BusClosedError());
      });
    });
  }

  /**
   * Declaring the same topology object again re-applies it without remembering it twice. A new declaration refused is
   * forgotten.
   */
  async declare(topology: Topology): Promise<void> {
    this.assertOpen();
    const known = this.topologies.includes(topology);
    if (!known) this.topologies.push(topology);
    if (!this.connection) return;
    try {
      await this.applyTopology(this.connection, topology);
    } catch (err) {
      if (!known) this.topologies.splice(this.topologies.indexOf(topology), 1);
      throw err;
    }
  }

  publish(exchange: string, routingKey: string, body: Buffer, options?: PublishOptions): Promise<void> {
    return this.publishBatch([{ exchange, routingKey, body, ...(options ? { options } : {}) }]);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    const publisher = this.publisher;
    if (!publisher || this.current !== 'connected') throw new BusUnavailableError('not connected');
    const confirms = messages.map(
      (m) =>
        new Promise<void>((resolve, reject) => {
          const mandatory = m.options?.mandatory ? this.expectReturn(publisher, m) : undefined;
          try {
            publisher.channel.publish(
              m.exchange,
              m.routingKey,
              m.body,
              {
                persistent: true,
                mandatory: m.options?.mandatory ?? false,
                contentType: m.options?.contentType ?? 'application/json',
                ...(m.options?.headers ? { headers: m.options.headers } : {}),
                ...(m.options?.messageId ? { messageId: m.options.messageId } : {}),
              },
              (err: unknown) => {
                const returned = mandatory?.();
                if (err) reject(new BusUnavailableError(`publish not confirmed: ${String(err)}`));
                // The broker sends an unroutable mandatory message back before it confirms it.
                else if (returned) reject(new BusUnroutableError(m.exchange, m.routingKey));
                else resolve();
              },
            );
          } catch (err) {
            // Not sent (the channel is closing, headers too large): no confirm will come.
            mandatory?.();
            reject(err);
          }
        }),
    );
    await Promise.all(confirms);
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    const record: ConsumerRecord = {
      queue,
      handler,
      prefetch: Math.max(1, options.prefetch),
      channel: undefined,
      cancelled: false,
      reopening: false,
    };
    this.consumers.add(record);
    if (this.connection) {
      try {
        await this.startConsumer(this.connection, record);
      } catch (err) {
        record.cancelled = true;
        this.consumers.delete(record);
        throw err;
      }
    }
    return {
      cancel: async () => {
        record.cancelled = true;
        this.consumers.delete(record);
        const ch = record.channel;
        record.channel = undefined;
        await ch?.close().catch(() => {});
      },
    };
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => {});
    const conn = this.connection;
    this.connection = undefined;
    this.publisher = undefined;
    await conn?.close().catch(() => {});
  }

  private assertOpen(): void {
    if (this.current === 'closed') throw new BusClosedError();
  }

  private setState(state: BusState): void {
    if (this.current === state || this.current === 'closed') return;
    this.current = state;
    for (const l of this.listeners) l(state);
  }

  private connectSoon(delayMs: number): void {
    if (this.current === 'closed') return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connecting = this.connect().finally(() => (this.connecting = undefined));
    }, delayMs);
  }

  private async connect(): Promise<void> {
    let conn: amqp.ChannelModel | undefined;
    try {
      // TCP_NODELAY: without it a small frame written right after another (an ack, then a publish) waits for
      // the broker's delayed ACK, about 40 ms on Linux.
      conn = await amqp.connect(this.opts.url, { timeout: 5000, noDelay: true });
      if (this.current === 'closed') {
        await conn.close().catch(() => {});
        return;
      }
      conn.on('error', (err: Error) => this.log.warn({ err }, 'rabbitmq connection error'));
      conn.on('close', () => this.onConnectionLost(conn!));
      for (const t of this.topologies) await this.applyTopology(conn, t);
      this.publisher = await this.openPublishChannel(conn);
      this.connection = conn;
      for (const record of this.consumers) await this.startConsumer(conn, record);
      this.attempt = 0;
      this.log.info({ consumers: this.consumers.size }, 'rabbitmq connected');
      this.setState('connected');
    } catch (err) {
      if ((err as { code?: string }).code === 'LZ_ERR_BUS_TOPOLOGY_MISMATCH')
        this.log.error({ err }, 'rabbitmq refused the topology; retrying');
      else this.log.warn({ err: { message: (err as Error).message } }, 'rabbitmq connect failed; retrying');
      this.connection = undefined;
      this.publisher = undefined;
      await conn?.close().catch(() => {});
      this.scheduleReconnect();
    }
  }

  private onConnectionLost(conn: amqp.ChannelModel): void {
    if (this.connection !== conn) return;
    this.connection = undefined;
    this.publisher = undefined;
    for (const r of this.consumers) r.channel = undefined;
    if (this.current === 'closed') return;
    this.log.warn('rabbitmq connection lost; reconnecting');
    this.setState('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.connectSoon(backoffDelay(this.attempt++, { baseMs: this.minBackoffMs, maxMs: this.maxBackoffMs }));
  }

  private async openPublishChannel(conn: amqp.ChannelModel): Promise<PublishChannel> {
    const publisher: PublishChannel = { channel: await conn.createConfirmChannel(), mandatory: new Map() };
    publisher.channel.on('error', (err: Error) => this.log.warn({ err }, 'rabbitmq publish channel error'));
    publisher.channel.on('return', (returned: amqp.Message) => {
      const key = returnKey(returned.fields.exchange, returned.fields.routingKey, returned.properties.messageId);
      for (const pending of publisher.mandatory.get(key) ?? [])
        if (pending.body.equals(returned.content)) pending.returned = true;
    });
    publisher.channel.on('close', () => {
      // A channel-level error (e.g. publishing to a missing exchange) closes only the channel: open a new one.
      if (this.publisher !== publisher || this.connection !== conn) return;
      this.publisher = undefined;
      this.openPublishChannel(conn).then(
        (next) => {
          if (this.connection === conn) this.publisher = next;
        },
        () => {},
      );
    });
    return publisher;
  }

  /**
   * Watches for the broker returning a mandatory message unroutable; the function says whether it did, once confirmed.
   */
  private expectReturn(publisher: PublishChannel, m: OutgoingMessage): () => boolean {
    const key = returnKey(m.exchange, m.routingKey, m.options?.messageId);
    const pending: MandatoryPublish = { body: m.body, returned: false };
    const same = publisher.mandatory.get(key) ?? new Set();
    publisher.mandatory.set(key, same.add(pending));
    return () => {
      same.delete(pending);
      if (same.size === 0) publisher.mandatory.delete(key);
      return pending.returned;
    };
  }

  private async applyTopology(conn: amqp.ChannelModel, topology: Topology): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    let declaring = '';
    try {
      for (const ex of topology.exchanges ?? []) {
        declaring = `exchange '${ex.name}'`;
        await ch.assertExchange(ex.name, ex.type, { durable: true });
      }
      for (const q of topology.queues ?? []) {
        const args = queueArguments(q.type, q.deliveryLimit);
        if (q.deadLetter) {
          const dlx = deadLetterExchangeName(q.name);
          declaring = `exchange '${dlx}'`;
          await ch.assertExchange(dlx, 'direct', { durable: true });
          declaring = `queue '${deadLetterQueueName(q.name)}'`;
          await ch.assertQueue(deadLetterQueueName(q.name), { durable: true, arguments: queueArguments(q.type) });
          await ch.bindQueue(deadLetterQueueName(q.name), dlx, q.name);
          Object.assign(args, deadLetterArguments(q));
        }
        declaring = `queue '${q.name}'`;
        await ch.assertQueue(q.name, {
          durable: q.exclusive ? false : (q.durable ?? true),
          exclusive: q.exclusive ?? false,
          arguments: args,
        });
        for (const b of q.bindings ?? []) await ch.bindQueue(q.name, b.exchange, b.pattern);
      }
    } catch (err) {
      if ((err as { code?: unknown }).code === PRECONDITION_FAILED)
        throw new BusTopologyMismatchError(declaring, (err as Error).message, { cause: err });
      throw err;
    } finally {
      await ch.close().catch(() => {});
    }
  }

  private async startConsumer(conn: amqp.ChannelModel, record: ConsumerRecord): Promise<void> {
    if (record.cancelled) return;
    const channel = await conn.createChannel();
    channel.on('error', (err: Error) => this.log.warn({ err, queue: record.queue }, 'rabbitmq consumer channel error'));
    channel.on('close', () => this.onConsumerChannelClosed(conn, record, channel));
    await channel.prefetch(record.prefetch);
    record.channel = channel;
    await channel.consume(record.queue, (raw) => {
      if (raw) return this.deliver(record, channel, raw);
      // The broker cancelled the consumer (its queue was deleted): closing the channel starts it again.
      this.log.warn({ queue: record.queue }, 'rabbitmq cancelled the consumer; starting it again');
      channel.close().catch(() => {});
    });
  }

  /**
   * The broker closed a consumer's channel but not the connection (consumer_timeout, a channel error, a cancelled
   * consumer): what it held unacked goes back to the queue, so consume again on a new channel.
   */
  private onConsumerChannelClosed(conn: amqp.ChannelModel, record: ConsumerRecord, channel: amqp.Channel): void {
    if (record.channel !== channel) return;
    record.channel = undefined;
    if (record.cancelled || record.reopening || this.connection !== conn) return;
    this.log.warn({ queue: record.queue }, 'rabbitmq consumer channel closed; consuming again');
    record.reopening = true;
    this.reopenConsumer(conn, record, 0);
  }

  private reopenConsumer(conn: amqp.ChannelModel, record: ConsumerRecord, attempt: number): void {
    const delayMs = backoffDelay(attempt, { baseMs: this.minBackoffMs, maxMs: this.maxBackoffMs });
    setTimeout(() => {
      // A lost connection starts every consumer again on its own once reconnected.
      if (record.cancelled || this.connection !== conn) {
        record.reopening = false;
        return;
      }
      // The queue may have been deleted: declare everything again first (declarations are idempotent).
      void (async () => {
        for (const t of this.topologies) await this.applyTopology(conn, t);
        await this.startConsumer(conn, record);
      })().then(
        () => (record.reopening = false),
        (err: unknown) => {
          this.log.warn({ err, queue: record.queue }, 'rabbitmq consumer could not be started again; retrying');
          this.reopenConsumer(conn, record, attempt + 1);
        },
      );
    }, delayMs);
  }

  private deliver(record: ConsumerRecord, channel: amqp.Channel, raw: amqp.ConsumeMessage): void {
    let settled = false;
    // A delivery of a channel that has since closed comes again from the broker: settling it is a no-op.
    const stale = (): boolean => settled || record.channel !== channel;
    const settle = (how: 'ack' | 'nack', requeue = true): void => {
      if (stale()) return;
      settled = true;
      try {
        if (how === 'ack') channel.ack(raw);
        else channel.nack(raw, false, requeue);
      } catch (err) {
        // The channel closed in between and its close event has not arrived yet: the broker redelivers the message.
        this.log.warn({ err, queue: record.queue }, 'delivery not settled: its channel is closed');
      }
    };
    const message: BusMessage = {
      body: raw.content,
      exchange: raw.fields.exchange,
      routingKey: raw.fields.routingKey,
      headers: (raw.properties.headers ?? {}) as Record<string, unknown>,
      messageId: raw.properties.messageId as string | undefined,
      redelivered: raw.fields.redelivered,
      get stale() {
        return stale();
      },
      ack: () => settle('ack'),
      nack: (opts) => settle('nack', opts?.requeue ?? true),
      deadLetter: async (reason) => {
        if (stale()) return;
        try {
          await this.publish(deadLetterExchangeName(record.queue), record.queue, raw.content, {
            headers: {
              ...(raw.properties.headers as Record<string, HeaderValue> | undefined),
              [DEAD_LETTER_REASON_HEADER]: reason,
            },
            ...(raw.properties.messageId ? { messageId: raw.properties.messageId as string } : {}),
          });
        } catch (err) {
          this.log.warn(
            { err, queue: record.queue, reason },
            "dead letter not published; rejecting the message to the broker's dead-lettering",
          );
          return settle('nack', false);
        }
        settle('ack');
      },
    };
    Promise.resolve()
      .then(() => record.handler(message))
      .catch((err: unknown) => {
        this.log.warn({ err, queue: record.queue }, 'message handler failed');
        message.nack({ requeue: !raw.fields.redelivered });
      });
  }
}

/**
 * The declaration arguments of a queue's type and delivery limit (a classic queue is declared without any, as always).
 */
function queueArguments(type: QueueType | undefined, deliveryLimit?: number): Record<string, string | number> {
  if (type !== 'quorum') return {};
  return { 'x-queue-type': 'quorum', ...(deliveryLimit !== undefined ? { 'x-delivery-limit': deliveryLimit } : {}) };
}

/**
 * Dead-lettering into `<queue>.dlx`. A quorum queue dead-letters at least once (its dead letters wait in the queue
 * until the dead-letter queue confirms them, even while the exchange is missing); that strategy requires
 * `reject-publish` overflow, which changes nothing here as the queue has no length limit.
 */
function deadLetterArguments(q: QueueSpec): Record<string, string> {
  return {
    'x-dead-letter-exchange': deadLetterExchangeName(q.name),
    'x-dead-letter-routing-key': q.name,
    ...(q.type === 'quorum' ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
  };
}
