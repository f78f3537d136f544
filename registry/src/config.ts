import { Type, type Static } from '@sinclair/typebox';
import { commonConfigProperties, portSetting } from '@lizards/lib';
import { DEFAULT_LIMITS } from './registry-limits.js';

export const RegistryConfig = Type.Object({
  ...commonConfigProperties,
  PORT: portSetting({ default: 8500 }),
  LEASE_TTL_MS: Type.Integer({ default: 15_000, minimum: 100, description: 'an instance silent this long is evicted' }),
  EVICTION_INTERVAL_MS: Type.Integer({ default: 1000, minimum: 10 }),
  REGISTRY_BODY_LIMIT: Type.Integer({ default: 16_384, minimum: 256 }),
  REGISTRY_SERVICE_TOKENS: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'service-id=token pairs, comma-separated: a token that writes that service only',
    }),
  ),
  REGISTRY_MAX_SERVICES: Type.Integer({
    default: DEFAULT_LIMITS.maxServices,
    minimum: 1,
    description: 'services with live instances; a new one beyond gets 503',
  }),
  REGISTRY_MAX_INSTANCES_PER_SERVICE: Type.Integer({
    default: DEFAULT_LIMITS.maxInstancesPerService,
    minimum: 1,
    description: 'instances of one service; a new one beyond gets 503',
  }),
  REGISTRY_MAX_TOMBSTONES: Type.Integer({
    default: DEFAULT_LIMITS.maxTombstones,
    minimum: 0,
    description: 'change indexes kept for emptied services',
  }),
  REGISTRY_TOMBSTONE_TTL_MS: Type.Integer({
    default: DEFAULT_LIMITS.tombstoneTtlMs,
    minimum: 0,
    description: 'how long they are kept',
  }),
  REGISTRY_MAX_WATCHES_PER_CLIENT: Type.Integer({
    default: DEFAULT_LIMITS.maxWatchesPerClient,
    minimum: 1,
    description: 'blocking queries one client address holds open; beyond, 429',
  }),
  REGISTRY_MAX_WATCHES: Type.Integer({
    default: DEFAULT_LIMITS.maxWatches,
    minimum: 1,
    description: 'blocking queries held open in all; beyond, 503',
  }),
});
export type RegistryConfig = Static<typeof RegistryConfig>;
