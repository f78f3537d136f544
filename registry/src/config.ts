import { Type, type Static } from '@sinclair/typebox';
import { commonConfigProperties } from '@lizards/lib';

export const RegistryConfig = Type.Object({
  ...commonConfigProperties,
  PORT: Type.Integer({ default: 8500, minimum: 0, maximum: 65535 }),
  LEASE_TTL_MS: Type.Integer({ default: 15_000, minimum: 100, description: 'an instance silent this long is evicted' }),
  EVICTION_INTERVAL_MS: Type.Integer({ default: 1000, minimum: 10 }),
  REGISTRY_BODY_LIMIT: Type.Integer({ default: 16_384, minimum: 256 }),
});
export type RegistryConfig = Static<typeof RegistryConfig>;
