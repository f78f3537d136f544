import { Type, type Static } from '@sinclair/typebox';

/** The launcher's own settings; every service also reads its usual variables from the same environment. */
export const StackConfig = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address every part listens on' }),
  REGISTRY_PORT: Type.Integer({ default: 8500, minimum: 0, maximum: 65535, description: 'registry port' }),
  GATEWAY_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'gateway (and dashboard) port' }),
  PROVIDER_INSTANCES: Type.Integer({ default: 2, minimum: 1, maximum: 8, description: 'provider instances started' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'warn', description: 'log level of every part (warn keeps the banner readable)' },
  ),
  SESSION_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'shared by the providers; random per run when unset' })),
  DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  AMQP_URL: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_URL: Type.Optional(Type.String({ minLength: 1 })),
  MONGO_URL: Type.Optional(Type.String({ minLength: 1 })),
  BACKING_PROBE_TIMEOUT_MS: Type.Integer({ default: 3000, minimum: 100, description: 'how long a backing service may take to answer at start' }),
});
export type StackConfig = Static<typeof StackConfig>;
