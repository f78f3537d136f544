import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { request } from 'undici';
import { loadDataProcessor, type DataProcessorClient, type ProcessingResponse } from '@lizards/proto';
import { PriceClient } from './price-client.js';
import { ServiceProcess, servicePorts } from './service-process.js';
import {
  TcpProxy,
  deletePricesTopology,
  freePort,
  queueDepth as brokerQueueDepth,
  stablePort,
  waitFor,
} from '@lizards/testkit';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const SYMBOLS = ['AAPL', 'MSFT', 'TSLA', 'NVDA', 'AMZN'];

export interface StackOptions {
  /** Providers started with the stack (default 1); with 0 nothing is seeded and a test starts them itself. */
  providers?: number;
  heartbeatMs?: number;
  leaseTtlMs?: number;
  /** Gateways started with the stack (default 1). */
  gateways?: number;
  /** Ingestion's raw store in a directory of the run, so it survives kill -9 (the soak kills ingestion). */
  durableRawStore?: boolean;
  /** A private redis-server for the gateway (really stopped by the Redis scenario). */
  privateRedis?: boolean;
  /** The gateways reach the shared Redis through `redisProxy` (with the run's key prefixes). */
  proxiedRedis?: boolean;
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
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
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
  /** Ingestion's raw store (its outbox) with `durableRawStore`, kept across its restarts and removed at close. */
  private readonly rawStoreDir: string | undefined;
  readonly topology = {
    prices: `lz.${this.run}.prices`,
    store: `lz.${this.run}.prices.store`,
    live: `lz.${this.run}.prices.live`,
  };
  readonly secrets = {
    registryToken: `regtok-${randomUUID()}`,
    sessionSecret: `sessec-${randomUUID()}`,
    ingestToken: `ingtok-${randomUUID()}`,
  };
  readonly pgProxy = new TcpProxy('127.0.0.1', 5432);
  readonly amqpProxy = new TcpProxy('127.0.0.1', 5672);
  readonly redis = new PrivateRedis();
  readonly redisProxy = new TcpProxy('127.0.0.1', 6379);
  readonly sql = postgres(PG_URL, { max: 2, onnotice: () => undefined });
  registry!: ServiceProcess;
  ingestion!: ServiceProcess;
  readonly gateways: ServiceProcess[] = [];
  grpcPort = 0;
  readonly providers: ServiceProcess[] = [];
  readonly retired: ServiceProcess[] = [];
  readonly feeder = new Feeder(this);
  private providerCount = 0;

  /** Clients opened with connectClient(), closed with the stack. */
  readonly clients: PriceClient[] = [];

  constructor(readonly opts: StackOptions = {}) {
    this.rawStoreDir = opts.durableRawStore ? mkdtempSync(join(tmpdir(), `lz-faults-${this.run}-`)) : undefined;
  }

  /** A price client through the gateway, subscribed to every symbol. */
  async connectClient(): Promise<PriceClient> {
    const client = new PriceClient(this.gateway.url, SYMBOLS);
    this.clients.push(client);
    await client.connect();
    return client;
  }

  /** The first gateway (the only one unless `gateways` asked for more). */
  get gateway(): ServiceProcess {
    return this.gateways[0]!;
  }

  get heartbeatMs(): number {
    return this.opts.heartbeatMs ?? 500;
  }

  get leaseTtlMs(): number {
    return this.opts.leaseTtlMs ?? 3000;
  }

  get all(): ServiceProcess[] {
    return [this.registry, this.ingestion, ...this.gateways, ...this.providers, ...this.retired].filter(Boolean);
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
    try {
      await stack.boot();
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  private async boot(): Promise<void> {
    await this.pgProxy.start();
    await this.amqpProxy.start();
    if (this.opts.privateRedis) await this.redis.start();
    if (this.opts.proxiedRedis) await this.redisProxy.start();
    await this.startRegistry(await stablePort());
    await Promise.all([
      this.startIngestion(),
      ...Array.from({ length: this.opts.providers ?? 1 }, () => this.startProvider()),
    ]);
    await Promise.all(Array.from({ length: this.opts.gateways ?? 1 }, () => this.startGateway()));
    await this.feeder.connect();
    if (this.providers.length > 0) await this.seed();
  }

  /**
   * One tick per symbol, stored before any client subscribes: the provider only accepts subscriptions to symbols it has
   * stored.
   */
  async seed(): Promise<void> {
    await this.waitForGatewayInstances(this.providers.length);
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
    this.registry = new ServiceProcess(
      'registry',
      'registry',
      { port, adminPort: await stablePort() },
      {
        LOG_LEVEL: this.opts.logLevel ?? 'info',
        PORT: String(port),
        REGISTRY_TOKEN: this.secrets.registryToken,
        LEASE_TTL_MS: String(this.leaseTtlMs),
        EVICTION_INTERVAL_MS: '100',
        ...this.opts.registryEnv,
      },
    );
    await this.registry.until('/health');
    return this.registry;
  }

  async startGateway(): Promise<ServiceProcess> {
    const ports = await servicePorts();
    const redisPort = this.opts.privateRedis
      ? this.redis.port
      : this.opts.proxiedRedis
        ? this.redisProxy.port
        : undefined;
    const gateway = new ServiceProcess(
      this.gateways.length === 0 ? 'gateway' : `gateway-${this.gateways.length + 1}`,
      'gateway',
      ports,
      {
        ...this.common(),
        GATEWAY_PORT: String(ports.port),
        REGISTRY_WATCH_WAIT_MS: '5000',
        REGISTRY_RETRY_MS: '200',
        BREAKER_COOL_OFF_MS: '1000',
        RATE_LIMIT_MAX: '1000000',
        CACHE_PREFIX: `lz:${this.run}:cache:`,
        RATE_LIMIT_PREFIX: `lz:${this.run}:rl:`,
        ...(redisPort !== undefined ? { REDIS_URL: `redis://127.0.0.1:${redisPort}` } : {}),
        ...this.opts.gatewayEnv,
      },
    );
    this.gateways.push(gateway);
    await gateway.until('/health');
    return gateway;
  }

  /** Kills `old` (SIGKILL) if it still runs and starts it again in its place (same ports and environment). */
  async respawn(old: ServiceProcess): Promise<ServiceProcess> {
    if (this.closed) throw new Error(`${old.name} not restarted: the stack is closed`);
    await old.kill('SIGKILL');
    const fresh = old.respawn();
    for (const list of [this.providers, this.gateways]) {
      const i = list.indexOf(old);
      if (i >= 0) list[i] = fresh;
    }
    if (this.registry === old) this.registry = fresh;
    if (this.ingestion === old) this.ingestion = fresh;
    this.retired.push(old);
    return fresh;
  }

  async startIngestion(): Promise<ServiceProcess> {
    const ports = await servicePorts();
    this.grpcPort = await stablePort();
    this.ingestion = new ServiceProcess('ingestion', 'ingestion', ports, {
      ...this.common(),
      PORT: String(ports.port),
      GRPC_PORT: String(this.grpcPort),
      INGEST_TOKEN: this.secrets.ingestToken,
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${this.amqpProxy.port}`,
      PRICES_EXCHANGE: this.topology.prices,
      STORE_QUEUE: this.topology.store,
      SOURCES: ',',
      SYMBOLS: SYMBOLS.join(','),
      PUBLISH_TIMEOUT_MS: '2000',
      OUTBOX_RETRY_MS: '500',
      // A raw store that outlives the process, as MongoDB does in a deployment: ticks accepted but not yet published
      // when ingestion is killed are published by the next one (in memory they would be lost with the process).
      ...(this.rawStoreDir ? { RAW_STORE_DIR: this.rawStoreDir } : {}),
      ...this.opts.ingestionEnv,
    });
    await this.ingestion.until('/ready');
    return this.ingestion;
  }

  async startProvider(): Promise<ServiceProcess> {
    const ports = await servicePorts();
    const provider = new ServiceProcess(`provider-${++this.providerCount}`, 'provider', ports, {
      ...this.common(),
      PORT: String(ports.port),
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
        const metrics = await (await request(`${this.gateway.adminUrl}/metrics`)).body.text();
        const line = metrics
          .split('\n')
          .find((l) => l.startsWith('gateway_upstream_instances{') && l.includes('upstream_service="provider"'));
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
    const secrets = [this.secrets.registryToken, this.secrets.sessionSecret, this.secrets.ingestToken, ...extra];
    return this.all.flatMap((p) => secrets.filter((s) => p.log.includes(s)).map((s) => `${p.name}: ${s}`));
  }

  private closed = false;

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.clients) c.close();
    this.feeder.close();
    for (const p of this.all) {
      const report = p.crashReport();
      if (report) process.stderr.write(`\n[faults ${this.run}] ${report}\n`);
    }
    await Promise.all(this.all.map((p) => p.kill('SIGKILL')));
    await this.redis.stop();
    await this.redisProxy.stop();
    if (this.opts.proxiedRedis) await deleteRedisKeys(`lz:${this.run}:*`).catch(() => undefined);
    await this.pgProxy.stop();
    await this.amqpProxy.stop();
    await this.sql.unsafe(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
    await this.sql.end({ timeout: 2 });
    await deletePricesTopology(AMQP_URL, this.topology).catch(() => undefined);
    if (this.rawStoreDir) rmSync(this.rawStoreDir, { recursive: true, force: true });
  }
}

/** Deletes the shared Redis's keys matching `pattern` (a run's prefix). */
async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: pattern, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
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
  /** When ingestion answered OK for each accepted key (epoch ms). */
  readonly acceptedAt = new Map<string, number>();
  readonly failures: string[] = [];
  /** Ticks of calls that failed: ingestion may have published some before the failure reached the caller. */
  readonly unsure = new Set<string>();
  private client: DataProcessorClient | undefined;
  private n = 0;
  private readonly base = Date.now() - 3_600_000;
  private pumping: Promise<void> | undefined;
  private stopPump = false;

  constructor(private readonly stack: Stack) {}

  async connect(): Promise<void> {
    const { Client } = loadDataProcessor();
    // Reconnects within a second of a restarted ingestion (grpc-js backs off up to 2 minutes by default).
    this.client = new Client(`127.0.0.1:${this.stack.grpcPort}`, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  get grpc(): DataProcessorClient {
    return this.client!;
  }

  /** The call metadata ingestion requires: `authorization: Bearer <INGEST_TOKEN>`. */
  authMetadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.stack.secrets.ingestToken}`);
    return metadata;
  }

  call(content: string, timeoutMs = 30_000): Promise<ProcessingResponse> {
    return new Promise((resolve, reject) =>
      this.grpc.ProcessData({ content }, this.authMetadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res!),
      ),
    );
  }

  private freshTicks(count: number) {
    return Array.from({ length: count }, () => {
      const i = this.n++;
      return {
        symbol: SYMBOLS[i % SYMBOLS.length]!,
        price: 100 + (i % 1000) / 10,
        timestamp: new Date(this.base + i).toISOString(),
        volume: i,
      };
    });
  }

  /** Sends one batch of `count` fresh ticks; on OK every one of them counts as accepted. */
  async send(count: number): Promise<void> {
    const ticks = this.freshTicks(count);
    try {
      const res = await this.call(JSON.stringify(ticks));
      if (res.status !== 'OK' || res.accepted !== count) throw new Error(`${res.status}: ${res.message}`);
      const at = Date.now();
      for (const t of ticks) {
        this.accepted.add(`${t.symbol}|${t.timestamp}`);
        this.acceptedAt.set(`${t.symbol}|${t.timestamp}`, at);
      }
    } catch (err) {
      this.failures.push((err as Error).message);
      for (const t of ticks) this.unsure.add(`${t.symbol}|${t.timestamp}`);
    }
  }

  /**
   * Offers `count` fresh ticks padded with `padBytes` of JSON whitespace (a big document with few ticks). On OK they
   * count as accepted; a refusal is returned (its gRPC status and retry hint), not recorded as a failure.
   */
  async offer(
    count: number,
    padBytes: number,
  ): Promise<{ accepted: true } | { accepted: false; code: number; details: string; pushbackMs: string | undefined }> {
    const ticks = this.freshTicks(count);
    try {
      const res = await this.call(`${JSON.stringify(ticks)}${' '.repeat(padBytes)}`);
      if (res.status !== 'OK' || res.accepted !== count) throw new Error(`${res.status}: ${res.message}`);
      for (const t of ticks) this.accepted.add(`${t.symbol}|${t.timestamp}`);
      return { accepted: true };
    } catch (err) {
      const { code, details, metadata } = err as grpc.ServiceError;
      if (code === undefined) throw err;
      return { accepted: false, code, details, pushbackMs: metadata?.get('grpc-retry-pushback-ms')[0]?.toString() };
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
