import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composePath, envExamplePath, readEnvFile, repoRoot, type ComposeFile, type ComposeService } from './support/compose-file.js';
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
  const active = Object.entries(file.services).filter(([, s]) => !s.profiles || (profile !== undefined && s.profiles.includes(profile)));
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

    it.each(['REGISTRY_TOKEN', 'SESSION_SECRET', 'POSTGRES_PASSWORD', 'RABBITMQ_PASSWORD', 'MONGO_PASSWORD'])(
      'when %s is empty, then config fails naming it',
      (secret) => {
        const result = compose(['config', '-q'], { [secret]: '' });
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
      expect(Object.keys(file.services.provider!.depends_on as object)).toEqual(expect.arrayContaining(['registry', 'postgres', 'rabbitmq']));
      expect(Object.keys(file.services.ingestion!.depends_on as object)).toEqual(expect.arrayContaining(['registry', 'rabbitmq', 'mongo']));
      expect(Object.keys(file.services.gateway!.depends_on as object)).toEqual(expect.arrayContaining(['registry', 'redis']));
    });

    it('when ports are read, then no database is published and only the gateway, the registry (and Grafana) are', () => {
      for (const db of DATABASES) expect(file.services[db]!.ports ?? [], `${db} ports`).toEqual([]);
      const published = Object.fromEntries(services.filter(([, s]) => (s.ports ?? []).length > 0).map(([n, s]) => [n, s.ports!.map(targetPort)]));
      expect(published).toEqual({ gateway: [8080], registry: [8500], ...(profile ? { grafana: [3000] } : {}) });
    });

    it('when the databases are read, then their data lives in named volumes', () => {
      const dataDirs: Record<string, string> = { postgres: '/var/lib/postgresql/data', redis: '/data', rabbitmq: '/var/lib/rabbitmq', mongo: '/data/db' };
      for (const [db, dir] of Object.entries(dataDirs)) {
        const volumes = ((file.services[db] as { volumes?: (string | { source?: string; target?: string; type?: string })[] }).volumes ?? []).map((v) =>
          typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1], type: v.startsWith('/') || v.startsWith('.') ? 'bind' : 'volume' } : v,
        );
        const data = volumes.find((v) => v.target === dir);
        expect(data, `${db} volume on ${dir}`).toBeDefined();
        expect(data!.type ?? 'volume').toBe('volume');
        expect(Object.keys(file.volumes ?? {})).toContain(data!.source);
      }
    });

    it('when the services are read, then each is built from its Dockerfile target and pointed at the compose hostnames', () => {
      for (const name of APP_SERVICES) {
        const service = file.services[name]!;
        expect(service.build).toMatchObject({ dockerfile: 'deploy/Dockerfile', target: name });
        expect(service.environment).toMatchObject({ HOST: '0.0.0.0', REGISTRY_URL: 'http://registry:8500' });
        expect(service.environment!.REGISTRY_TOKEN).toBe(readEnvFile(envExamplePath).REGISTRY_TOKEN);
      }
      expect(file.services.gateway!.environment!.REDIS_URL).toBe('redis://redis:6379');
      expect(String(file.services.provider!.environment!.DATABASE_URL)).toMatch(/@postgres:5432\//);
      expect(String(file.services.provider!.environment!.AMQP_URL)).toMatch(/@rabbitmq:5672$/);
      expect(String(file.services.ingestion!.environment!.MONGO_URL)).toMatch(/@mongo:27017\//);
      expect(file.services.provider!.environment!.SESSION_SECRET).toBe(readEnvFile(envExamplePath).SESSION_SECRET);
    });
  });
});
