import { Type, type Static } from '@sinclair/typebox';
import { commonConfigProperties, portSetting } from '@lizards/lib';
import { DEFAULT_UPSTREAM_ALLOW } from './upstreams/address-allow-list.js';

export const GatewayConfig = Type.Object({
  ...commonConfigProperties,
  PORT: portSetting({ default: 8080, description: 'port to listen on (GATEWAY_PORT wins when set)' }),
  GATEWAY_PORT: Type.Optional(portSetting({ description: 'port to listen on; overrides PORT' })),
  GATEWAY_WORKERS: Type.String({
    default: '1',
    pattern: '^(auto|[1-9][0-9]*)$',
    description:
      'processes serving the public and admin ports (node:cluster): a number, or auto = one per available core',
  }),
  TRUST_PROXY: Type.Optional(
    Type.String({
      description:
        'comma-separated addresses/CIDRs of the proxies in front whose X-Forwarded-* are believed; unset = ' +
        'none (true and hop counts are refused)',
    }),
  ),
  GATEWAY_ROUTES: Type.Optional(
    Type.String({ description: 'JSON array of route entries merged into the default table by path' }),
  ),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'Redis for the response cache and shared rate limits; embedded LRU / local counters when unset',
    }),
  ),
  CACHE_PREFIX: Type.String({ default: 'lz:cache:', description: 'key prefix of cached responses in Redis' }),
  CACHE_MAX_BYTES: Type.Integer({
    default: 67_108_864,
    minimum: 1024,
    description: 'bytes kept by the embedded LRU cache (bodies, headers and per-entry overhead)',
  }),
  CACHE_MAX_BODY_BYTES: Type.Integer({
    default: 1_048_576,
    minimum: 0,
    description:
      'larger responses are streamed to the client and not cached; also what one cacheable response may hold in memory',
  }),
  RATE_LIMIT_MAX: Type.Integer({
    default: 600,
    minimum: 1,
    description: 'requests per window per client (IP or listed API key), per route group',
  }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 1 }),
  RATE_LIMIT_GROUPS: Type.Optional(
    Type.String({ description: 'JSON object {group: {max, windowMs}} overriding the limits of a route group' }),
  ),
  RATE_LIMIT_API_KEYS: Type.Optional(
    Type.String({
      description:
        'comma-separated API keys that get their own bucket; any other request (unknown key or none) is ' +
        'counted by client IP',
    }),
  ),
  RATE_LIMIT_PREFIX: Type.String({ default: 'lz:rl:', description: 'key prefix of rate-limit counters in Redis' }),
  RATE_LIMIT_SYNC_MS: Type.Integer({
    default: 50,
    minimum: 0,
    description:
      "how often counts admitted on a replica's local view are added to Redis; 0 = one Redis round trip per request",
  }),
  REGISTRY_WATCH_WAIT_MS: Type.Integer({
    default: 30_000,
    minimum: 1000,
    description: 'blocking-query wait; also the periodic refresh interval',
  }),
  REGISTRY_RETRY_MS: Type.Integer({
    default: 1000,
    minimum: 10,
    description: 'first pause before asking an unreachable registry again; doubles per failure up to 5 s',
  }),
  REGISTRY_RECOVERY_GRACE_MS: Type.Integer({
    default: 10_000,
    minimum: 0,
    description: 'after a registry outage, keep last known instances it does not list yet for this long',
  }),
  UPSTREAM_ALLOW: Type.String({
    default: DEFAULT_UPSTREAM_ALLOW,
    description:
      'comma-separated CIDRs upstream instances may be at (link-local, metadata and 0.0.0.0 only when listed ' +
      'themselves); host names are resolved and checked per connection',
  }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 1, description: 'default per-route upstream timeout' }),
  UPSTREAM_CONNECT_TIMEOUT_MS: Type.Integer({ default: 2000, minimum: 1 }),
  UPSTREAM_CONNECTIONS: Type.Integer({
    default: 64,
    minimum: 1,
    description: 'keep-alive connections per upstream instance',
  }),
  BREAKER_FAILURE_THRESHOLD: Type.Integer({
    default: 1,
    minimum: 1,
    description: 'consecutive failures that open an instance circuit',
  }),
  BREAKER_COOL_OFF_MS: Type.Integer({
    default: 5000,
    minimum: 1,
    description: 'open circuit time before a half-open probe',
  }),
  WS_MAX_PAYLOAD: Type.Integer({
    default: 65_536,
    minimum: 1024,
    description:
      "larger client frames close the socket with 1009 at the gateway; keep it at or below the provider's " +
      'WS_MAX_PAYLOAD',
  }),
});
export type GatewayConfig = Static<typeof GatewayConfig>;
