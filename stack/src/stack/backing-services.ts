import { Redis } from 'ioredis';
import postgres from 'postgres';
import { RabbitBus } from '@lizards/lib';
import type { StackConfig } from '../config/stack-config.js';

export type BackingName = 'postgres' | 'rabbitmq' | 'redis' | 'mongodb';

export interface BackingService {
  name: BackingName;
  env: 'DATABASE_URL' | 'AMQP_URL' | 'REDIS_URL' | 'MONGO_URL';
  /** The real server's URL, or undefined when the embedded adapter serves. */
  url: string | undefined;
  embedded: string;
}

/** Which backing services are real (their URL is set) and which are embedded. */
export function backingServices(config: StackConfig): BackingService[] {
  return [
    { name: 'postgres', env: 'DATABASE_URL', url: config.DATABASE_URL, embedded: 'PGlite' },
    { name: 'rabbitmq', env: 'AMQP_URL', url: config.AMQP_URL, embedded: 'in-process bus' },
    { name: 'redis', env: 'REDIS_URL', url: config.REDIS_URL, embedded: 'in-process LRU' },
    { name: 'mongodb', env: 'MONGO_URL', url: config.MONGO_URL, embedded: 'in-process raw store' },
  ];
}

/** The URLs `--real` insists on (MongoDB stays optional: the raw store is not on the price path). */
export const REQUIRED_FOR_REAL = ['DATABASE_URL', 'AMQP_URL', 'REDIS_URL'] as const;

/** The URL without its password, for messages and the banner. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout])
    .finally(() => clearTimeout(timer))
    .catch((err: unknown) => {
      throw new Error(`${what}: ${(err as Error).message}`);
    });
}

async function probePostgres(url: string, timeoutMs: number): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: Math.ceil(timeoutMs / 1000), onnotice: () => {} });
  try {
    await withTimeout(sql`SELECT 1`, timeoutMs, 'query');
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

async function probeRabbit(url: string, timeoutMs: number): Promise<void> {
  const bus = RabbitBus.create({ url });
  try {
    await bus.waitUntilConnected(timeoutMs);
  } finally {
    await bus.close().catch(() => undefined);
  }
}

async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
      'PING',
    );
  } finally {
    redis.disconnect();
  }
}

async function probeMongo(url: string, timeoutMs: number): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

const PROBES: Record<BackingName, (url: string, timeoutMs: number) => Promise<void>> = {
  postgres: probePostgres,
  rabbitmq: probeRabbit,
  redis: probeRedis,
  mongodb: probeMongo,
};

/**
 * Asks every configured real server to answer, so a wrong URL stops the start with one clear line
 * instead of services retrying in the background. Returns the problems (empty = all answered).
 */
export async function probeBackingServices(services: BackingService[], timeoutMs: number): Promise<string[]> {
  const results = await Promise.all(
    services.map(async (s) => {
      if (!s.url) return undefined;
      try {
        await PROBES[s.name](s.url, timeoutMs);
        return undefined;
      } catch (err) {
        return `${s.env}=${displayUrl(s.url)} (${s.name}) does not answer: ${(err as Error).message}`;
      }
    }),
  );
  return results.filter((r): r is string => r !== undefined);
}
