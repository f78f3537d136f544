import { Type, type Static } from '@sinclair/typebox';
import { logLevelSetting, portSetting } from '@lizards/lib';

/** The launcher's own settings; every service also reads its usual variables from the same environment. */
export const StackConfig = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address every part listens on' }),
  REGISTRY_PORT: portSetting({ default: 8500, description: 'registry port' }),
  GATEWAY_PORT: portSetting({ default: 8080, description: 'gateway (and dashboard) port' }),
  PROVIDER_INSTANCES: Type.Integer({ default: 2, minimum: 1, maximum: 8, description: 'provider instances started' }),
  LOG_LEVEL: logLevelSetting({
    default: 'warn',
    description: 'log level of every part (warn keeps the banner readable)',
  }),
  REGISTRY_TOKEN: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'registry write token of every part; random per run when unset (the banner prints it)',
    }),
  ),
  SESSION_SECRET: Type.Optional(
    Type.String({ minLength: 16, description: 'shared by the providers; random per run when unset' }),
  ),
  DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  AMQP_URL: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_URL: Type.Optional(Type.String({ minLength: 1 })),
  MONGO_URL: Type.Optional(Type.String({ minLength: 1 })),
  BACKING_PROBE_TIMEOUT_MS: Type.Integer({
    default: 3000,
    minimum: 100,
    description: 'how long a backing service may take to answer at start',
  }),
});
export type StackConfig = Static<typeof StackConfig>;
