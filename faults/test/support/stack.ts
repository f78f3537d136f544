import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import postgres from 'postgres';
import { request } from 'undici';
import { loadDataProcessor, type DataProcessorClient, type ProcessingResponse } from '@lizards/proto';
import { PriceClient } from './price-client.js';
import { ServiceProcess } from './service-process.js';
import { TcpProxy, deletePricesTopology, freePort, queueDepth as brokerQueueDepth, waitFor } from '@lizards/testkit';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const SYMBOLS = ['AAPL', 'MSFT', 'TSLA', 'NVDA', 'AMZN'];

export interface StackOptions {
  providers?: number;
  heartbeatMs?: number;
  leaseTtlMs?: number;
  /** A private redis-server for the gateway (really stopped by the Redis scenario). */
  privateRedis?: boolean;
  logLevel?: string;
  registryEnv?: Record<string, string>;
  providerEnv?: Record<string, string>;
  ingestionEnv?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
}

/** A private redis-server on a free port, nothing on disk. */
export class PrivateRedis {
  process: ChildProcess | undefined;
  port = 0;

  async start(port?: number): Promise<void> {
    this.port = port ?? (await freePort());
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.process = child;
    await waitFor(
      async () => {
        const net = await import('node:net');
        return new Promise<boolean>((resolve) => {
          const s = net.connect(this.port, '127.0.0.1', () => (s.end(), resolve(true)));
          s.on('error', () => resolve(false));
        });
      },
      10_000,
      'redis-server to listen',
    );
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * The real services as separate processes (registry, providers, ingestion, gateway) on their own schema, exchanges,
 * queues and Redis prefixes, reaching PostgreSQL and RabbitMQ through TCP proxies a test can cut.
 */
export class Stack {
  readonly run = randomUUID().slice(0, 8);
  readonly schema = `lz_faults_${this.run}`;
  readonly topology = { prices: `lz.${this.run}.prices`, store: `lz.${this.run}.prices.store`, live: `lz.${this.run}.prices.live` };
  readonly secrets = {
    registryToken: `regtok-${randomUUID()}`,
    sessionSecret: `sessec-${randomUUID()}`,
  };
  readonly pgProxy = new TcpProxy('127.0.0.1', 5432);
  readonly amqpProxy = new TcpProxy('127.0.0.1', 5672);
  readonly redis = new PrivateRedis();
  readonly sql = postgres(PG_URL, { max: 2, onnotice: () => undefined });
  registry!: ServiceProcess;
  ingestion!: ServiceProcess;
  gateway!: ServiceProcess;
  grpcPort = 0;
  readonly providers: ServiceProcess[] = [];
  readonly retired: ServiceProcess[] = [];
  readonly feeder = new Feeder(this);
  private providerCount = 0;

  /** Clients opened with connectClient(), closed with the stack. */
  readonly clients: PriceClient[] = [];

  constructor(readonly opts: StackOptions = {}) {}

  /** A price client through the gateway, subscribed to every symbol. */
  async connectClient(): Promise<PriceClient> {
    const client = new PriceClient(this.gateway.url, SYMBOLS);
    this.clients.push(client);
    await client.connect();
    return client;
  }

  get heartbeatMs(): number {
    return this.opts.heartbeatMs ?? 500;
  }

  get leaseTtlMs(): number {
    return this.opts.leaseTtlMs ?? 3000;
  }

  get all(): ServiceProcess[] {
    return [this.registry, this.ingestion, this.gateway, ...this.providers, ...this.retired].filter(Boolean);
  }

  private common(): Record<string, string> {
    return {
      LOG_LEVEL: this.opts.logLevel ?? 'info',
      REGISTRY_URL: this.registry.url,
      REGISTRY_TOKEN: this.secrets.registryToken,
      HEARTBEAT_INTERVAL_MS: String(this.heartbeatMs),
    };
  }

  static async start(opts: StackOptions = {}): Promise<Stack> {
    const stack = new Stack(opts);
    await stack.boot();
    return stack;
  }

  private async boot(): Promise<void> {
    await this.pgProxy.start();
    await this.amqpProxy.start();
    if (this.opts.privateRedis) await this.redis.start();
    await this.startRegistry(await freePort());
    await Promise.all([this.startIngestion(), ...Array.from({ length: this.opts.providers ?? 1 }, () => this.startProvider())]);
    const port = await freePort();
    this.gateway = new ServiceProcess('gateway', 'gateway', port, {
      ...this.common(),
      GATEWAY_PORT: String(port),
      REGISTRY_WATCH_WAIT_MS: '5000',
      REGISTRY_RETRY_MS: '200',
      BREAKER_COOL_OFF_MS: '1000',
      RATE_LIMIT_MAX: '1000000',
      CACHE_PREFIX: `lz:${this.run}:cache:`,
      RATE_LIMIT_PREFIX: `lz:${this.run}:rl:`,
      ...(this.opts.privateRedis ? { REDIS_URL: `redis://127.0.0.1:${this.redis.port}` } : {}),
      ...this.opts.gatewayEnv,
    });
    await this.gateway.until('/health');
    await this.waitForGatewayInstances(this.providers.length);
    await this.feeder.connect();
    // One tick per symbol first: the provider only accepts subscriptions to symbols it has stored.
    await this.feeder.send(SYMBOLS.length);
    this.seeded = new Set(await this.waitUntilStored(30_000));
  }

  /** Keys stored before any client subscribed: clients receive everything stored after these. */
  seeded = new Set<string>();

  /** What a client subscribed since boot must have received: every stored tick but the seed. */
  liveKeys(stored: Iterable<string>): Set<string> {
    return new Set([...stored].filter((k) => !this.seeded.has(k)));
  }

  async startRegistry(port: number): Promise<ServiceProcess> {
    this.registry = new ServiceProcess('registry', 'registry', port, {
      LOG_LEVEL: this.opts.logLevel ?? 'info',
      PORT: String(port),
      REGISTRY_TOKEN: this.secrets.registryToken,
      LEASE_TTL_MS: String(this.leaseTtlMs),
      EVICTION_INTERVAL_MS: '100',
      ...this.opts.registryEnv,
    });
    await this.registry.until('/health');
    return this.registry;
  }

  async startIngestion(): Promise<ServiceProcess> {
    const port = await freePort();
    this.grpcPort = await freePort();
    this.ingestion = new ServiceProcess('ingestion', 'ingestion', port, {
      ...this.common(),
      PORT: String(port),
      GRPC_PORT: String(this.grpcPort),
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${this.amqpProxy.port}`,
      PRICES_EXCHANGE: this.topology.prices,
      SOURCES: ',',
      SYMBOLS: SYMBOLS.join(','),
      PUBLISH_TIMEOUT_MS: '2000',
      OUTBOX_RETRY_MS: '500',
      ...this.opts.ingestionEnv,
    });
    await this.ingestion.until('/ready');
    return this.ingestion;
  }

  async startProvider(): Promise<ServiceProcess> {
    const port = await freePort();
    const provider = new ServiceProcess(`provider-${++this.providerCount}`, 'provider', port, {
      ...this.common(),
      PORT: String(port),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${this.pgProxy.port}/test`,
      DATABASE_SCHEMA: this.schema,
      DATABASE_POOL_SIZE: '2',
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${this.amqpProxy.port}`,
      PRICES_EXCHANGE: this.topology.prices,
      STORE_QUEUE: this.topology.store,
      LIVE_EXCHANGE: this.topology.live,
      SESSION_SECRET: this.secrets.sessionSecret,
      LIVE_POLL_INTERVAL_MS: '200',
      ...this.opts.providerEnv,
    });
    this.providers.push(provider);
    await provider.until('/ready');
    return provider;
  }

  /** Registry view of one service: the addresses of its live instances ([] when none). */
  async registered(service: string): Promise<string[]> {
    const res = await request(`${this.registry.url}/services/${service}`);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return [];
    }
    const body = (await res.body.json()) as { instances: { ip_address: string; port_number: string }[] };
    return body.instances.map((i) => `${i.ip_address}:${i.port_number}`);
  }

  /** Waits until the gateway's metrics say it routes to `count` provider instances. */
  async waitForGatewayInstances(count: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        const metrics = await (await request(`${this.gateway.url}/metrics`)).body.text();
        const line = metrics.split('\n').find((l) => l.startsWith('gateway_upstream_instances{') && l.includes('upstream_service="provider"'));
        return line !== undefined && Number(line.split(' ').pop()) === count;
      },
      timeoutMs,
      `the gateway to route to ${count} provider(s)`,
      100,
    );
  }

  /** `symbol|ISO timestamp` of every gRPC tick stored in this run's schema. */
  async storedTicks(): Promise<string[]> {
    const rows = await this.sql<{ symbol: string; timestamp: Date }[]>`
      SELECT symbol, "timestamp" FROM ${this.sql(this.schema)}.ticks WHERE source = 'grpc'`;
    return rows.map((r) => `${r.symbol}|${r.timestamp.toISOString()}`);
  }

  /** Waits until PostgreSQL holds exactly what ingestion accepted, then returns the stored keys. */
  async waitUntilStored(timeoutMs = 60_000): Promise<string[]> {
    let stored: string[] = [];
    await waitFor(
      async () => {
        stored = await this.storedTicks().catch(() => []);
        return stored.length >= this.feeder.accepted.size;
      },
      timeoutMs,
      `${this.feeder.accepted.size} accepted ticks to be stored`,
      200,
    ).catch(() => undefined);
    return stored;
  }

  /** Every secret given to the processes that shows up in any captured log. */
  leakedSecrets(extra: string[] = []): string[] {
    const secrets = [this.secrets.registryToken, this.secrets.sessionSecret, ...extra];
    return this.all.flatMap((p) => secrets.filter((s) => p.log.includes(s)).map((s) => `${p.name}: ${s}`));
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    this.feeder.close();
    for (const p of this.all) {
      const report = p.crashReport();
      if (report) process.stderr.write(`\n[faults ${this.run}] ${report}\n`);
    }
    await Promise.all(this.all.map((p) => p.kill('SIGKILL')));
    await this.redis.stop();
    await this.pgProxy.stop();
    await this.amqpProxy.stop();
    await this.sql.unsafe(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
    await this.sql.end({ timeout: 2 });
    await deletePricesTopology(AMQP_URL, this.topology).catch(() => undefined);
  }
}

/** Ready (undelivered) messages in a queue of the real broker. */
export function queueDepth(queue: string): Promise<number> {
  return brokerQueueDepth(AMQP_URL, queue);
}

/**
 * Feeds ticks through ingestion's gRPC ProcessData and remembers exactly which were accepted.
 * Timestamps are unique per run (an hour back, one millisecond apart), so every tick is a distinct row.
 */
export class Feeder {
  readonly accepted = new Set<string>();
  readonly failures: string[] = [];
  private client: DataProcessorClient | undefined;
  private n = 0;
  private readonly base = Date.now() - 3_600_000;
  private pumping: Promise<void> | undefined;
  private stopPump = false;

  constructor(private readonly stack: Stack) {}

  async connect(): Promise<void> {
    const { Client } = loadDataProcessor();
    this.client = new Client(`127.0.0.1:${this.stack.grpcPort}`, grpc.credentials.createInsecure());
  }

  get grpc(): DataProcessorClient {
    return this.client!;
  }

  call(content: string, timeoutMs = 30_000): Promise<ProcessingResponse> {
    return new Promise((resolve, reject) =>
      this.grpc.ProcessData({ content }, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!))),
    );
  }

  /** Sends one batch of `count` fresh ticks; on OK every one of them counts as accepted. */
  async send(count: number): Promise<void> {
    const ticks = Array.from({ length: count }, () => {
      const i = this.n++;
      return { symbol: SYMBOLS[i % SYMBOLS.length]!, price: 100 + (i % 1000) / 10, timestamp: new Date(this.base + i).toISOString(), volume: i };
    });
    try {
      const res = await this.call(JSON.stringify(ticks));
      if (res.status !== 'OK' || res.accepted !== count) throw new Error(`${res.status}: ${res.message}`);
      for (const t of ticks) this.accepted.add(`${t.symbol}|${t.timestamp}`);
    } catch (err) {
      this.failures.push((err as Error).message);
    }
  }

  /** Keeps sending batches in the background until stop(). */
  start(batch = 10, pauseMs = 50): void {
    this.stopPump = false;
    this.pumping = (async () => {
      while (!this.stopPump) {
        await this.send(batch);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopPump = true;
    await this.pumping;
  }

  /** Waits until `count` ticks in all have been accepted. */
  async acceptedAtLeast(count: number, what: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.accepted.size >= count, timeoutMs, what);
  }

  close(): void {
    this.stopPump = true;
    this.client?.close();
  }
}
