import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { RabbitBus, type MessageBus } from '@lizards/lib';
import { buildProviderApp, type ProviderAppOptions } from '../../src/app.js';
import { openPostgresPriceStore } from '../../src/store/postgres-price-store.js';
import type { PriceStore } from '../../src/store/price-repository.js';
import { TEST_AMQP_URL, type TestTopology } from './backends.js';
import { waitFor } from '@lizards/testkit';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface ProviderHarnessOptions {
  schema: string;
  databaseUrl: string;
  topology: TestTopology;
  amqpUrl?: string;
  worker?: boolean;
  ws?: Partial<ProviderAppOptions['ws']>;
  session?: Partial<ProviderAppOptions['session']>;
  workerOptions?: Partial<ProviderAppOptions['worker']>;
  livePollIntervalMs?: number;
  readTimeoutMs?: number;
  /** Provisional pushes; off unless a test asks, so the other tests see the stored stream alone. */
  provisional?: ProviderAppOptions['provisional'];
  store?: PriceStore;
  /** Defaults to a RabbitMQ connection to `amqpUrl`. */
  bus?: MessageBus;
}

export interface ProviderHarness {
  app: FastifyInstance;
  store: PriceStore;
  bus: MessageBus;
  metrics: Registry;
  baseUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function connectBus(url = TEST_AMQP_URL): Promise<RabbitBus> {
  const bus = RabbitBus.create({ url, minBackoffMs: 50, maxBackoffMs: 500 });
  await bus.waitUntilConnected();
  return bus;
}

/** A listening provider on 127.0.0.1:<free port> with real RabbitMQ and PostgreSQL. */
export async function startProvider(opts: ProviderHarnessOptions): Promise<ProviderHarness> {
  const bus = opts.bus ?? (await connectBus(opts.amqpUrl));
  const store =
    opts.store ?? (await openPostgresPriceStore({ url: opts.databaseUrl, schema: opts.schema, readPoolSize: 2 }));
  const metrics = new Registry();
  const instance = randomUUID();
  const app = buildProviderApp({
    repository: store.repository,
    history: store.history,
    ...(opts.worker === false ? {} : { writer: store.writer }),
    bus,
    topology: {
      store: {
        exchange: opts.topology.pricesExchange,
        queue: opts.topology.storeQueue,
        queueType: opts.topology.storeQueueType,
        deliveryLimit: opts.topology.storeDeliveryLimit,
      },
      liveExchange: opts.topology.liveExchange,
      liveQueue: opts.topology.liveQueue(instance),
      provisionalQueue: `${opts.topology.pricesExchange}.provisional.${instance}`,
    },
    worker: {
      prefetch: 1000,
      batchSize: 500,
      batchWaitMs: 10,
      minBackoffMs: 50,
      maxBackoffMs: 500,
      ...opts.workerOptions,
    },
    session: { secret: TEST_SECRET, ttlSeconds: 3600, ...opts.session },
    ws: {
      requireToken: false,
      allowedOrigins: [],
      maxSymbols: 50,
      maxAlerts: 50,
      maxMessageBytes: 4096,
      maxPayload: 65_536,
      maxErrors: 5,
      maxQueuedMessages: 64,
      subscribeBurst: 20,
      subscribePerSecond: 5,
      maxConcurrentReads: 1,
      pingIntervalMs: 30_000,
      sendBufferBytes: 262_144,
      slowClientTimeoutMs: 10_000,
      resumeMaxTicks: 10_000,
      staleAfterMs: 120_000,
      maxConnectionsPerSession: 4,
      ...opts.ws,
    },
    livePollIntervalMs: opts.livePollIntervalMs ?? 1000,
    ...(opts.readTimeoutMs ? { readTimeoutMs: opts.readTimeoutMs } : {}),
    ...(opts.provisional ? { provisional: opts.provisional } : {}),
    logger: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
    metricsRegistry: metrics,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    store,
    bus,
    metrics,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async close() {
      await app.close();
      await bus.close();
      if (!opts.store) await store.close();
    },
  };
}

export interface ServerMessage {
  type: string;
  [key: string]: unknown;
}

export interface PriceEntry {
  price: number;
  timestamp: string;
  source?: string;
  provisional?: boolean;
}

/** A `ws` client that records every message and lets a test wait for the ones it expects. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly raw: string[] = [];
  /** When each message arrived (epoch ms), by index in `messages`. */
  readonly arrivedAt: number[] = [];
  closeCode: number | undefined;
  private readonly opened: Promise<void>;

  constructor(
    readonly url: string,
    options: WebSocket.ClientOptions = {},
  ) {
    this.socket = new WebSocket(url, options);
    this.socket.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      this.messages.push(JSON.parse(text) as ServerMessage);
      this.arrivedAt.push(Date.now());
    });
    this.socket.on('close', (code) => (this.closeCode = code));
    this.socket.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.socket.once('error', reject);
    });
  }

  readonly socket: WebSocket;

  open(): Promise<void> {
    return this.opened;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  ofType(type: string): ServerMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Live (non-snapshot) updates, flattened to one entry per symbol and message, in arrival order. */
  liveTicks(): { symbol: string; cursor: string; entry: PriceEntry }[] {
    return this.messages
      .filter((m) => m.type === 'price_update' && !m.snapshot)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, PriceEntry>).map(([symbol, entry]) => ({
          symbol,
          cursor: m.cursor as string,
          entry,
        })),
      );
  }

  async waitForMessage(
    predicate: (m: ServerMessage) => boolean,
    timeoutMs = 10_000,
    what = 'message',
  ): Promise<ServerMessage> {
    return waitFor(() => this.messages.find(predicate), timeoutMs, what);
  }

  async waitForClose(timeoutMs = 10_000): Promise<number> {
    return waitFor(() => this.closeCode, timeoutMs, 'close');
  }

  close(): void {
    this.socket.close();
  }
}
