import { Type, type Static } from '@sinclair/typebox';
import { commonConfigProperties, storeTopologyConfigProperties } from '@lizards/lib';
import { STORE_READ_TIMEOUT_MS } from './store/store-availability.js';

/** `<days>d` or `forever`. */
const RETENTION_PATTERN = '^([1-9][0-9]{0,5}d|forever)$';

export const ProviderConfig = Type.Object({
  ...commonConfigProperties,
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL; unset = embedded PGlite' }),
  ),
  DATABASE_READ_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description:
        'a replica for history, candles and symbols; the live side (cursor, resume, snapshots) stays on DATABASE_URL',
    }),
  ),
  DATABASE_SCHEMA: Type.String({ default: 'public', pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
  DATABASE_POOL_SIZE: Type.Integer({
    default: 4,
    minimum: 1,
    description: 'connections of each read pool (the writer uses 2)',
  }),
  TICK_RETENTION: Type.String({
    default: '30d',
    pattern: RETENTION_PATTERN,
    description: 'ticks are kept this many days (whole UTC days are dropped), or forever',
  }),
  CANDLE_RETENTION: Type.String({
    default: 'forever',
    pattern: RETENTION_PATTERN,
    description: 'candle rollups are kept this many days, or forever; at least TICK_RETENTION',
  }),
  PGLITE_DATA_DIR: Type.Optional(
    Type.String({ minLength: 1, description: 'embedded PGlite data folder; unset = in memory' }),
  ),
  AMQP_URL: Type.Optional(Type.String({ pattern: '^amqps?://', description: 'RabbitMQ; unset = in-process bus' })),
  ...storeTopologyConfigProperties,
  LIVE_EXCHANGE: Type.String({ default: 'prices.live', minLength: 1 }),
  STORE_PREFETCH: Type.Integer({ default: 1000, minimum: 1 }),
  STORE_BATCH_SIZE: Type.Integer({
    default: 2000,
    minimum: 1,
    description: 'most ticks per insert (whole messages; batches grow to it only while a backlog waits)',
  }),
  STORE_BATCH_WAIT_MS: Type.Integer({ default: 20, minimum: 0 }),
  STORE_READ_TIMEOUT_MS: Type.Integer({
    default: STORE_READ_TIMEOUT_MS,
    minimum: 100,
    description:
      "a REST read the store has not answered within this is a 503 with Retry-After (keep it under the gateway's 10 s)",
  }),
  WORKER_ENABLED: Type.Boolean({ default: true, description: 'consume the store queue (false = WebSocket/REST only)' }),
  LIVE_POLL_INTERVAL_MS: Type.Integer({
    default: 1000,
    minimum: 50,
    description: 'the hub reads new ticks at least this often, even without a live notification',
  }),
  LIVE_MAX_LAG_MS: Type.Integer({
    default: 500,
    minimum: 10,
    description: 'a tick not stored this long after it was published is pushed marked provisional',
  }),
  LIVE_PROVISIONAL_MAX_TICKS: Type.Integer({
    default: 50_000,
    minimum: 100,
    description: 'most not-yet-stored ticks a hub remembers for provisional pushes',
  }),
  SESSION_SECRET: Type.Optional(
    Type.String({ minLength: 16, description: 'HMAC key for session tokens; unset = random per process' }),
  ),
  SESSION_TTL_S: Type.Integer({
    default: 60,
    minimum: 1,
    description: 'how long a session token may open a socket (an open socket outlives it)',
  }),
  WS_AUTH: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  WS_ALLOWED_ORIGINS: Type.String({ default: '', description: 'comma-separated Origin allow-list; empty = any' }),
  WS_MAX_CONNECTIONS_PER_SESSION: Type.Integer({
    default: 4,
    minimum: 1,
    description: 'open sockets one session may hold on this instance',
  }),
  WS_MAX_SYMBOLS: Type.Integer({ default: 50, minimum: 1, description: 'symbols per connection' }),
  WS_MAX_ALERTS: Type.Integer({ default: 50, minimum: 1, description: 'price alerts per connection' }),
  WS_MAX_MESSAGE_BYTES: Type.Integer({
    default: 4096,
    minimum: 64,
    description: 'larger client messages get an error',
  }),
  WS_MAX_PAYLOAD: Type.Integer({
    default: 65_536,
    minimum: 1024,
    description: 'larger frames close the socket (1009)',
  }),
  WS_MAX_ERRORS: Type.Integer({
    default: 5,
    minimum: 1,
    description: 'protocol errors before the socket is closed with 1008',
  }),
  WS_MAX_QUEUED_MESSAGES: Type.Integer({
    default: 64,
    minimum: 1,
    description: 'client messages waiting to be handled before the socket is closed with 1008',
  }),
  WS_SUBSCRIBE_BURST: Type.Integer({
    default: 20,
    minimum: 1,
    description: 'subscribe requests a connection may send at once',
  }),
  WS_SUBSCRIBE_PER_SECOND: Type.Number({
    default: 5,
    exclusiveMinimum: 0,
    description: 'subscribe requests per second after the burst; more get an error (a protocol error)',
  }),
  WS_MAX_CONCURRENT_READS: Type.Optional(
    Type.Integer({
      minimum: 1,
      description:
        'store reads for WebSocket clients at once; default half of DATABASE_POOL_SIZE, at most DATABASE_POOL_SIZE - 1',
    }),
  ),
  WS_PING_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  WS_SEND_BUFFER_BYTES: Type.Integer({
    default: 262_144,
    minimum: 1024,
    description: 'above this a client gets conflated updates',
  }),
  WS_SLOW_CLIENT_TIMEOUT_MS: Type.Integer({
    default: 10_000,
    minimum: 100,
    description: 'a client over its buffer bound this long is disconnected',
  }),
  WS_RESUME_MAX_TICKS: Type.Integer({
    default: 10_000,
    minimum: 1,
    description: 'most missed ticks replayed on resume',
  }),
  STALE_AFTER_MS: Type.Integer({
    default: 120_000,
    minimum: 1000,
    description: 'a subscribed symbol quiet this long gets a stale notice',
  }),
});
export type ProviderConfig = Static<typeof ProviderConfig>;
