import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isPlaceholderSecret, isSecretName, loadConfig } from '../../lib/src/index.js';
import { GatewayConfig } from '../../gateway/src/config.js';
import { IngestionConfig } from '../../ingestion/src/config.js';
import { ProviderConfig } from '../../provider/src/config.js';
import { RegistryConfig } from '../../registry/src/config.js';
import {
  composePath,
  envExamplePath,
  loadComposeFile,
  readEnvFile,
  repoRoot,
  withRealSecrets,
  type ComposeFile,
  type ComposeService,
} from './support/compose-file.js';
import { ensureAptTool } from './support/system-tools.js';

const missing = ensureAptTool('docker-compose', 'docker-compose');
const DATABASES = ['postgres', 'redis', 'rabbitmq', 'mongo'];
const APP_SERVICES = ['registry', 'gateway', 'ingestion', 'provider'];

// Only the variables we give: a developer's own .env or shell must not decide the outcome.
function compose(args: string[], env: Record<string, string> = {}) {
  return spawnSync('docker-compose', ['--env-file', envExamplePath, '-f', composePath, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    timeout: 60_000,
  });
}

function resolvedConfig(profile?: string): ComposeFile {
  const result = compose([...(profile ? ['--profile', profile] : []), 'config']);
  expect(result.status, result.stderr).toBe(0);
  const file = parse(result.stdout) as ComposeFile;
  // docker-compose 1.x prints services of inactive profiles too: keep what `up` would start.
  const active = Object.entries(file.services).filter(
    ([, s]) => !s.profiles || (profile !== undefined && s.profiles.includes(profile)),
  );
  return { ...file, services: Object.fromEntries(active) };
}

const targetPort = (p: NonNullable<ComposeService['ports']>[number]) =>
  typeof p === 'string' ? Number(p.split('/')[0]!.split(':').at(-1)) : p.target;

describe.skipIf(missing !== undefined)(`compose.yaml${missing ? ` (skipped: ${missing})` : ''}`, () => {
  describe('docker-compose config -q', () => {
    it('when the secrets of .env.example are given, then the file is valid without a profile', () => {
      const result = compose(['config', '-q']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    });

    it('when the secrets of .env.example are given, then the file is valid with the observability profile', () => {
      const result = compose(['--profile', 'observability', 'config', '-q']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    });

    it.each([
      ...[
        'REGISTRY_TOKEN',
        'SESSION_SECRET',
        'INGEST_TOKEN',
        'POSTGRES_PASSWORD',
        'RABBITMQ_PASSWORD',
        'MONGO_PASSWORD',
        'REDIS_PASSWORD',
      ].map((s) => [s, []]),
      ['GRAFANA_ADMIN_PASSWORD', ['--profile', 'observability']],
    ] as [string, string[]][])(
      'when %s is empty, then docker-compose config fails naming it (no built-in fallback)',
      (secret, profile) => {
        const result = compose([...profile, 'config', '-q'], { [secret]: '' });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain(`set ${secret} in .env`);
      },
    );
  });

  describe.each([undefined, 'observability'])('structure (profile %s)', (profile) => {
    let file: ComposeFile;
    let services: [string, ComposeService][];
    beforeAll(() => {
      file = resolvedConfig(profile);
      services = Object.entries(file.services);
    });

    it('when the stack is listed, then it has the databases, the four services and two providers', () => {
      expect(Object.keys(file.services)).toEqual(expect.arrayContaining([...DATABASES, ...APP_SERVICES]));
      expect(file.services.provider!.deploy?.replicas).toBe(2);
      if (profile) expect(Object.keys(file.services)).toEqual(expect.arrayContaining(['prometheus', 'grafana']));
    });

    it('when any service is read, then it has a healthcheck', () => {
      for (const [name, service] of services) {
        expect(service.healthcheck?.test, `${name} healthcheck`).toBeDefined();
        expect(service.healthcheck!.test, `${name} healthcheck`).not.toEqual(['NONE']);
      }
    });

    it('when a service depends on another, then it waits for it to be healthy', () => {
      for (const [name, service] of services) {
        const deps = service.depends_on ?? {};
        expect(Array.isArray(deps), `${name} depends_on must use conditions`).toBe(false);
        for (const [dep, { condition }] of Object.entries(deps as Record<string, { condition?: string }>)) {
          expect(condition, `${name} -> ${dep}`).toBe('service_healthy');
          expect(file.services[dep], `${name} -> ${dep} exists in the same profile`).toBeDefined();
        }
      }
      expect(Object.keys(file.services.provider!.depends_on as object)).toEqual(
        expect.arrayContaining(['registry', 'postgres', 'rabbitmq']),
      );
      expect(Object.keys(file.services.ingestion!.depends_on as object)).toEqual(
        expect.arrayContaining(['registry', 'rabbitmq', 'mongo']),
      );
      expect(Object.keys(file.services.gateway!.depends_on as object)).toEqual(
        expect.arrayContaining(['registry', 'redis']),
      );
    });

    it(
      'when ports are read, then no database is published and ' + 'only the gateway, the registry (and Grafana) are',
      () => {
        for (const db of DATABASES) expect(file.services[db]!.ports ?? [], `${db} ports`).toEqual([]);
        const published = Object.fromEntries(
          services.filter(([, s]) => (s.ports ?? []).length > 0).map(([n, s]) => [n, s.ports!.map(targetPort)]),
        );
        expect(published).toEqual({ gateway: [8080], registry: [8500], ...(profile ? { grafana: [3000] } : {}) });
      },
    );

    it(
      'when the services are read, then each has its admin listener (/ready, /metrics) ' +
        'on a fixed port that is not published',
      () => {
        for (const name of APP_SERVICES) {
          const service = file.services[name]!;
          const adminPort = Number(service.environment!.ADMIN_PORT);
          expect(adminPort, `${name} ADMIN_PORT`).toBeGreaterThan(0);
          expect((service.ports ?? []).map(targetPort), `${name} ports`).not.toContain(adminPort);
        }
      },
    );

    it('when the databases are read, then their data lives in named volumes', () => {
      const dataDirs: Record<string, string> = {
        postgres: '/var/lib/postgresql/data',
        redis: '/data',
        rabbitmq: '/var/lib/rabbitmq',
        mongo: '/data/db',
      };
      for (const [db, dir] of Object.entries(dataDirs)) {
        const volumes = (
          (file.services[db] as { volumes?: (string | { source?: string; target?: string; type?: string })[] })
            .volumes ?? []
        ).map((v) =>
          typeof v === 'string'
            ? {
                source: v.split(':')[0],
                target: v.split(':')[1],
                type: v.startsWith('/') || v.startsWith('.') ? 'bind' : 'volume',
              }
            : v,
        );
        const data = volumes.find((v) => v.target === dir);
        expect(data, `${db} volume on ${dir}`).toBeDefined();
        expect(data!.type ?? 'volume').toBe('volume');
        expect(Object.keys(file.volumes ?? {})).toContain(data!.source);
      }
    });

    it(
      'when redis is read, then its memory is bounded and it evicts the least recently used keys (the gateway ' +
        'cache) past it',
      () => {
        // The command runs through `sh -c` (for the password): its words are the server's arguments.
        const command = [(file.services.redis as { command?: string[] | string }).command ?? []]
          .flat()
          .join(' ')
          .split(/\s+/);
        const option = (name: string) => command[command.indexOf(name) + 1];
        expect(command).toContain('--maxmemory');
        expect(option('--maxmemory')).toMatch(/^[1-9]\d*(mb|gb)$/);
        expect(option('--maxmemory-policy')).toBe('allkeys-lru');
      },
    );

    it(
      'when the services are read, then each is built from its Dockerfile target and pointed at the compose ' +
        'hostnames',
      () => {
        for (const name of APP_SERVICES) {
          const service = file.services[name]!;
          expect(service.build).toMatchObject({ dockerfile: 'deploy/Dockerfile', target: name });
          expect(service.environment).toMatchObject({ HOST: '0.0.0.0', REGISTRY_URL: 'http://registry:8500' });
          expect(service.environment!.REGISTRY_TOKEN).toBe(readEnvFile(envExamplePath).REGISTRY_TOKEN);
        }
        expect(file.services.gateway!.environment!.REDIS_URL).toMatch(/^redis:\/\/:[^@]+@redis:6379$/);
        expect(String(file.services.provider!.environment!.DATABASE_URL)).toMatch(/@postgres:5432\//);
        expect(String(file.services.provider!.environment!.AMQP_URL)).toMatch(/@rabbitmq:5672$/);
        expect(String(file.services.ingestion!.environment!.MONGO_URL)).toMatch(/@mongo:27017\//);
        expect(file.services.provider!.environment!.SESSION_SECRET).toBe(readEnvFile(envExamplePath).SESSION_SECRET);
      },
    );

    it(
      'when the services are read, then ingestion gets INGEST_TOKEN and the providers take WebSockets only ' +
        "from the gateway's public origins",
      () => {
        const example = readEnvFile(envExamplePath);
        expect(file.services.ingestion!.environment!.INGEST_TOKEN).toBe(example.INGEST_TOKEN);
        expect(example.PUBLIC_ORIGINS).toBe('http://127.0.0.1:8080,http://localhost:8080');
        expect(file.services.provider!.environment!.WS_ALLOWED_ORIGINS).toBe(example.PUBLIC_ORIGINS);
      },
    );

    it(
      'when Redis is read, then it requires the password of .env, its healthcheck authenticates, and every ' +
        'REDIS_URL carries it',
      () => {
        const password = readEnvFile(envExamplePath).REDIS_PASSWORD!;
        const redis = file.services.redis!;
        expect(redis.environment?.REDIS_PASSWORD).toBe(password);
        // `config` prints a file compose reads again: the shell's `$` stays escaped as `$$`.
        expect([redis.command ?? []].flat().join(' ')).toContain('--requirepass "$$REDIS_PASSWORD"');
        expect([redis.healthcheck!.test].flat().join(' ')).toContain('REDISCLI_AUTH="$$REDIS_PASSWORD" redis-cli ping');
        const redisUrls = services.flatMap(([name, s]) =>
          Object.entries(s.environment ?? {})
            .filter(([k]) => k.endsWith('REDIS_URL'))
            .map(([, v]) => [name, String(v)]),
        );
        expect(redisUrls.length).toBeGreaterThan(0);
        for (const [name, url] of redisUrls) expect(url, name).toBe(`redis://:${password}@redis:6379`);
      },
    );

    it.runIf(profile === 'observability')('when Grafana is read, then its admin password is the one of .env', () => {
      expect(file.services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe(
        readEnvFile(envExamplePath).GRAFANA_ADMIN_PASSWORD,
      );
    });
  });
});

describe('.env.example', () => {
  const example = readEnvFile(envExamplePath);
  const secretNames = Object.keys(example).filter((name) => isSecretName(name) && example[name] !== '');
  const schemas = {
    registry: RegistryConfig,
    gateway: GatewayConfig,
    ingestion: IngestionConfig,
    provider: ProviderConfig,
  };

  it('when its secrets are read, then every one is an obvious placeholder, and it says so', () => {
    expect(secretNames).toEqual(
      expect.arrayContaining([
        'REGISTRY_TOKEN',
        'SESSION_SECRET',
        'POSTGRES_PASSWORD',
        'RABBITMQ_PASSWORD',
        'MONGO_PASSWORD',
        'REDIS_PASSWORD',
        'GRAFANA_ADMIN_PASSWORD',
      ]),
    );
    for (const name of secretNames) expect(isPlaceholderSecret(example[name]!), name).toBe(true);
    expect(readFileSync(envExamplePath, 'utf8')).toMatch(/refuse to start/);
  });

  it.each(Object.keys(schemas) as (keyof typeof schemas)[])(
    "when %s gets compose.yaml's environment from an unchanged copy, then it refuses to start, naming every " +
      'variable that holds a placeholder',
    (service) => {
      const env = stringEnv(loadComposeFile(example).services[service]!.environment);
      const holding = Object.keys(env).filter((name) =>
        secretNames.some((secret) => env[name]!.includes(example[secret]!)),
      );
      expect(holding).toContain('REGISTRY_TOKEN');
      expect(() => loadConfig(schemas[service], env)).toThrow(ConfigErrorMatching(holding));
    },
  );

  it.each(Object.keys(schemas) as (keyof typeof schemas)[])(
    'when %s gets the environment of a copy whose secrets were changed, then its config loads',
    (service) => {
      const env = stringEnv(loadComposeFile(withRealSecrets(example)).services[service]!.environment);
      expect(() => loadConfig(schemas[service], env)).not.toThrow();
    },
  );
});

/** Compose's environment map as strings, unset entries left out. */
function stringEnv(environment: ComposeService['environment']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment ?? {})
      .filter(([, v]) => v !== null && v !== '')
      .map(([k, v]) => [k, String(v)]),
  );
}

/** A pattern matching a config error that names each of `names`. */
function ConfigErrorMatching(names: string[]): RegExp {
  return new RegExp(`^Invalid configuration: ${names.map((n) => `(?=.*\\b${n}: )`).join('')}`);
}
