import amqp from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import { BusClosedError, BusUnavailableError } from '../errors.js';
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
}

const noopLog = { info() {}, warn() {}, error() {} };

/** RabbitMQ adapter: publisher confirms, per-consumer channels with prefetch, reconnect with backoff, topology re-declared on connect. */
export class RabbitBus implements MessageBus {
  readonly kind = 'rabbitmq' as const;
  private connection: amqp.ChannelModel | undefined;
  private publishChannel: amqp.ConfirmChannel | undefined;
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

  async declare(topology: Topology): Promise<void> {
    this.assertOpen();
    this.topologies.push(topology);
    if (this.connection) await this.applyTopology(this.connection, topology);
  }

  publish(exchange: string, routingKey: string, body: Buffer, options?: PublishOptions): Promise<void> {
    return this.publishBatch([{ exchange, routingKey, body, ...(options ? { options } : {}) }]);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    const channel = this.publishChannel;
    if (!channel || this.current !== 'connected') throw new BusUnavailableError('not connected');
    const confirms = messages.map(
      (m) =>
        new Promise<void>((resolve, reject) => {
          channel.publish(
            m.exchange,
            m.routingKey,
            m.body,
            {
              persistent: true,
              contentType: m.options?.contentType ?? 'application/json',
              ...(m.options?.headers ? { headers: m.options.headers } : {}),
              ...(m.options?.messageId ? { messageId: m.options.messageId } : {}),
            },
            (err: unknown) => (err ? reject(new BusUnavailableError(`publish not confirmed: ${String(err)}`)) : resolve()),
          );
        }),
    );
    await Promise.all(confirms);
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    const record: ConsumerRecord = { queue, handler, prefetch: Math.max(1, options.prefetch), channel: undefined, cancelled: false };
    this.consumers.add(record);
    if (this.connection) await this.startConsumer(this.connection, record);
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
    this.publishChannel = undefined;
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
      this.publishChannel = await this.openPublishChannel(conn);
      this.connection = conn;
      for (const record of this.consumers) await this.startConsumer(conn, record);
      this.attempt = 0;
      this.log.info({ consumers: this.consumers.size }, 'rabbitmq connected');
      this.setState('connected');
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'rabbitmq connect failed; retrying');
      this.connection = undefined;
      this.publishChannel = undefined;
      await conn?.close().catch(() => {});
      this.scheduleReconnect();
    }
  }

  private onConnectionLost(conn: amqp.ChannelModel): void {
    if (this.connection !== conn) return;
    this.connection = undefined;
    this.publishChannel = undefined;
    for (const r of this.consumers) r.channel = undefined;
    if (this.current === 'closed') return;
    this.log.warn('rabbitmq connection lost; reconnecting');
    this.setState('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** this.attempt++);
    this.connectSoon(base / 2 + Math.random() * (base / 2));
  }

  private async openPublishChannel(conn: amqp.ChannelModel): Promise<amqp.ConfirmChannel> {
    const channel = await conn.createConfirmChannel();
    channel.on('error', (err: Error) => this.log.warn({ err }, 'rabbitmq publish channel error'));
    channel.on('close', () => {
      // A channel-level error (e.g. publishing to a missing exchange) closes only the channel: open a new one.
      if (this.publishChannel === channel && this.connection === conn) {
        this.publishChannel = undefined;
        conn.createConfirmChannel().then(
          (next) => {
            if (this.connection !== conn) return;
            next.on('error', (err: Error) => this.log.warn({ err }, 'rabbitmq publish channel error'));
            this.publishChannel = next;
          },
          () => {},
        );
      }
    });
    return channel;
  }

  private async applyTopology(conn: amqp.ChannelModel, topology: Topology): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    try {
      for (const ex of topology.exchanges ?? []) await ch.assertExchange(ex.name, ex.type, { durable: true });
      for (const q of topology.queues ?? []) {
        const args: Record<string, string> = {};
        if (q.deadLetter) {
          const dlx = deadLetterExchangeName(q.name);
          await ch.assertExchange(dlx, 'direct', { durable: true });
          await ch.assertQueue(deadLetterQueueName(q.name), { durable: true });
          await ch.bindQueue(deadLetterQueueName(q.name), dlx, q.name);
          args['x-dead-letter-exchange'] = dlx;
          args['x-dead-letter-routing-key'] = q.name;
        }
        await ch.assertQueue(q.name, {
          durable: q.exclusive ? false : (q.durable ?? true),
          exclusive: q.exclusive ?? false,
          arguments: args,
        });
        for (const b of q.bindings ?? []) await ch.bindQueue(q.name, b.exchange, b.pattern);
      }
    } finally {
      await ch.close().catch(() => {});
    }
  }

  private async startConsumer(conn: amqp.ChannelModel, record: ConsumerRecord): Promise<void> {
    if (record.cancelled) return;
    const channel = await conn.createChannel();
    channel.on('error', (err: Error) => this.log.warn({ err, queue: record.queue }, 'rabbitmq consumer channel error'));
    await channel.prefetch(record.prefetch);
    record.channel = channel;
    await channel.consume(record.queue, (raw) => {
      if (raw) this.deliver(record, channel, raw);
    });
  }

  private deliver(record: ConsumerRecord, channel: amqp.Channel, raw: amqp.ConsumeMessage): void {
    let settled = false;
    // A message from a channel that has since closed is redelivered by the broker: settling it is a no-op.
    const live = (): boolean => !settled && record.channel === channel && this.connection !== undefined;
    const message: BusMessage = {
      body: raw.content,
      exchange: raw.fields.exchange,
      routingKey: raw.fields.routingKey,
      headers: (raw.properties.headers ?? {}) as Record<string, unknown>,
      messageId: raw.properties.messageId as string | undefined,
      redelivered: raw.fields.redelivered,
      ack: () => {
        if (!live()) return;
        settled = true;
        channel.ack(raw);
      },
      nack: (opts) => {
        if (!live()) return;
        settled = true;
        channel.nack(raw, false, opts?.requeue ?? true);
      },
      deadLetter: async (reason) => {
        if (!live()) return;
        await this.publish(deadLetterExchangeName(record.queue), record.queue, raw.content, {
          headers: { ...(raw.properties.headers as Record<string, HeaderValue> | undefined), [DEAD_LETTER_REASON_HEADER]: reason },
          ...(raw.properties.messageId ? { messageId: raw.properties.messageId as string } : {}),
        });
        message.ack();
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
