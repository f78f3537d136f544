import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { placeholderProblem, printableValue } from './config-secrets.js';
import { ConfigError } from './errors.js';

/** A TCP port setting; 0 asks the system for any free port. */
export const portSetting = (options: { default?: number; description?: string } = {}) =>
  Type.Integer({ ...options, minimum: 0, maximum: 65535 });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** pino's level, `silent` included. */
export const logLevelSetting = (options: { default: LogLevel; description?: string }) =>
  Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    options,
  );

/** Settings every service reads: where to listen (public and admin), where the registry is, how to log. */
export const commonConfigProperties = {
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address to listen on' }),
  PORT: portSetting({ default: 0, description: 'port to listen on (0 = any free port)' }),
  ADMIN_PORT: portSetting({
    default: 0,
    description: 'port of the admin listener (/health, /ready, /metrics; 0 = any free port)',
  }),
  ADMIN_HOST: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'address the admin listener binds (default: HOST); it is advertised at ADVERTISE_HOST',
    }),
  ),
  ADVERTISE_HOST: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'address registered in the registry (default: HOST, or the hostname when HOST is a wildcard)',
    }),
  ),
  LOG_LEVEL: logLevelSetting({ default: 'info' }),
  REGISTRY_URL: Type.String({ default: 'http://127.0.0.1:8500', pattern: '^https?://' }),
  REGISTRY_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  HEARTBEAT_INTERVAL_MS: Type.Integer({ default: 5000, minimum: 50 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
} satisfies TProperties;

export const CommonConfig = Type.Object(commonConfigProperties);
export type CommonConfig = Static<typeof CommonConfig>;

type Env = Record<string, string | undefined>;

/**
 * Reads the keys of `schema` from `env` (one variable per key), converts, fills defaults and validates; placeholder
 * secrets are refused (config-secrets.ts). An error names the variable and the rule; the value of a secret-named
 * variable is masked, and so is any URL's userinfo.
 */
export function loadConfig<T extends TObject>(schema: T, env: Env = process.env): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const given = { ...raw };
  const converted = Value.Convert(schema, Value.Default(schema, raw));
  const problems = [...Value.Errors(schema, converted)].map((e) => {
    const name = e.path.replace(/^\//, '').split('/')[0] || '(root)';
    const value = given[name] === undefined ? 'nothing' : printableValue(name, String(given[name]));
    return `${name}: ${e.message} (got ${value})`;
  });
  for (const [name, value] of Object.entries(given)) {
    const problem = placeholderProblem(name, String(value));
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)].join('; '));
  return converted as Static<T>;
}

/** As loadConfig, but prints what is wrong and exits 1: for server entry points. */
export function loadConfigOrExit<T extends TObject>(schema: T, env: Env = process.env): Static<T> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/** Splits a comma-separated list setting, dropping blanks. */
export function listSetting(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
