import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestSchema,
  deleteTopology,
  runId,
  TEST_AMQP_URL,
  testTopology,
} from '../../provider/test/support/backends.js';
import { envExamplePath, loadComposeFile, readEnvFile, repoRoot, withRealSecrets } from './support/compose-file.js';
import { startService, waitFor as waitUntil, type ServiceProcess } from '@lizards/testkit';
import { exitedService, readyUrl } from './support/service-process.js';

// What deploy/Dockerfile does, minus Docker: `pnpm deploy --legacy --prod` of each built package into a folder of
// its own, then the image's command (`node dist/server.js`, cwd = the folder) with compose.yaml's environment,
// its hostnames pointed at this machine's servers. Needs the build output (`npx tsc -b`, as `pnpm test` does).
const SERVICES = ['registry', 'provider', 'ingestion', 'gateway'] as const;
type Service = (typeof SERVICES)[number];
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const run = runId();
const topology = testTopology(run);
const workDir = mkdtempSync(join(tmpdir(), `lz-deploy-${run}-`));
const procs: Partial<Record<Service, ServiceProcess>> = {};
let db: Awaited<ReturnType<typeof createTestSchema>>;
let registryUrl: string;
let gatewayUrl: string;

// A service that died will not come up: stop waiting and show its stderr.
const waitFor = <T>(check: () => T | Promise<T>, timeoutMs: number, what: string) =>
  waitUntil(check, timeoutMs, what, 100, () => exitedService(Object.values(procs)));

const get = async (url: string) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined };
};

interface Instance {
  ip_address: string;
  port_number: string;
  protocol: string;
}
const instances = async (service: string): Promise<Instance[] | undefined> => {
  const res = await get(`${registryUrl}/services/${service}`);
  return res.status === 200 ? (res.body!.instances as Instance[]) : undefined;
};
const serviceUrl = async (service: string) => {
  const [i] = (await waitFor(() => instances(service), 30_000, `${service} registered`))!;
  return `http://${i!.ip_address}:${i!.port_number}`;
};

// .env.example's placeholders, changed as a user must change them (unchanged, every service refuses to start).
const dotEnv = withRealSecrets(readEnvFile(envExamplePath));

/**
 * compose.yaml's environment of `service`, with compose hostnames replaced by the local servers and names unique to
 * this run.
 */
function environmentFor(service: Service): Record<string, string> {
  const composeEnv = loadComposeFile(dotEnv).services[service]!.environment ?? {};
  const env = Object.fromEntries(
    Object.entries(composeEnv)
      .filter(([, v]) => v !== null && v !== '')
      .map(([k, v]) => [k, String(v)]),
  );
  const local: Record<string, string> = {
    PORT: '0', // fixed inside a container; any free port on a shared machine
    ADMIN_PORT: '0',
    ADVERTISE_HOST: '127.0.0.1', // a container advertises its hostname
    ...(service === 'registry' ? {} : { REGISTRY_URL: registryUrl }),
  };
  if (env.REDIS_URL)
    Object.assign(local, {
      REDIS_URL: REDIS_URL,
      CACHE_PREFIX: `lz:${run}:cache:`,
      RATE_LIMIT_PREFIX: `lz:${run}:rl:`,
    });
  if (env.AMQP_URL)
    Object.assign(local, {
      AMQP_URL: TEST_AMQP_URL,
      PRICES_EXCHANGE: topology.pricesExchange,
      STORE_QUEUE: topology.storeQueue,
      LIVE_EXCHANGE: topology.liveExchange,
    });
  if (env.DATABASE_URL) Object.assign(local, { DATABASE_URL, DATABASE_SCHEMA: db.schema });
  if (env.GRPC_PORT) local.GRPC_PORT = '0';
  // No MongoDB on this machine: ingestion falls back to its embedded raw store.
  delete env.MONGO_URL;
  return { ...env, ...local };
}

beforeAll(async () => {
  for (const service of SERVICES)
    expect(existsSync(`${repoRoot}${service}/dist/server.js`), 'run `npx tsc -b` first').toBe(true);
  db = await createTestSchema(run);
  await Promise.all(
    SERVICES.map((service) =>
      promisify(execFile)(
        'pnpm',
        ['--filter', `@lizards/${service}`, 'deploy', '--legacy', '--prod', join(workDir, service)],
        { cwd: repoRoot, timeout: 150_000 },
      ),
    ),
  );

  const registry = (procs.registry = startService(
    'registry',
    'dist/server.js',
    join(workDir, 'registry'),
    environmentFor('registry'),
  ));
  registryUrl = (await waitFor(() => readyUrl(registry, 'registry ready'), 20_000, 'registry ready'))!;
  for (const service of ['provider', 'ingestion', 'gateway'] as const) {
    procs[service] = startService(service, 'dist/server.js', join(workDir, service), environmentFor(service));
  }
  gatewayUrl = (await waitFor(() => readyUrl(procs.gateway!, 'gateway ready'), 30_000, 'gateway ready'))!;
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(procs).map((p) => p.stop(5000)));
  await db?.drop();
  await deleteTopology(topology);
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('pnpm deploy output', () => {
  it.each(SERVICES)('when %s is deployed, then the folder holds dist and production dependencies only', (service) => {
    const dir = join(workDir, service);
    expect(existsSync(join(dir, 'dist/server.js'))).toBe(true);
    const modules = readdirSync(join(dir, 'node_modules'));
    expect(modules).toContain('@lizards');
    for (const dev of ['typescript', 'vitest', '@types', 'yaml'])
      expect(modules, `${service} has ${dev}`).not.toContain(dev);
  });
});

describe('the deployed services, started as their images start them', () => {
  it.each(SERVICES)('when %s runs, then GET /health answers 200', async (service) => {
    const base = service === 'registry' ? registryUrl : await serviceUrl(service);
    expect((await get(`${base}/health`)).status).toBe(200);
  });

  it(
    'when they have started, then provider, ingestion (HTTP and gRPC) and gateway are registered at their ' +
      'advertised address',
    async () => {
      for (const [service, protocol] of [
        ['provider', 'http'],
        ['ingestion', 'http'],
        ['ingestion-grpc', 'gRPC'],
        ['gateway', 'http'],
      ] as const) {
        const list = await waitFor(() => instances(service), 30_000, `${service} registered`);
        expect(list, service).toEqual([expect.objectContaining({ ip_address: '127.0.0.1', protocol })]);
      }
    },
  );

  it('when the registry is asked for the services and its SD endpoint, then it lists them', async () => {
    const provider = await get(`${registryUrl}/services/provider`);
    expect(provider.body).toMatchObject({ service_name: 'provider', instance_count: 1 });
    const sd = (await get(`${registryUrl}/sd/prometheus`)).body as unknown as {
      targets: string[];
      labels: { service: string };
    }[];
    expect(new Set(sd.map((g) => g.labels.service))).toEqual(new Set(['registry', 'provider', 'ingestion', 'gateway']));
  });

  it(
    'when Prometheus scrapes the SD targets, then each is an admin listener serving /metrics, and no public ' +
      'port serves /metrics or /ready',
    async () => {
      const sd = (await get(`${registryUrl}/sd/prometheus`)).body as unknown as {
        targets: string[];
        labels: { service: string };
      }[];
      for (const { targets, labels } of sd) {
        const res = await fetch(`http://${targets[0]}/metrics`, { signal: AbortSignal.timeout(5000) });
        expect(res.status, `${labels.service} at ${targets[0]}`).toBe(200);
        expect(await res.text()).toContain(`service="${labels.service}"`);
      }
      for (const service of SERVICES) {
        const base = service === 'registry' ? registryUrl : await serviceUrl(service);
        for (const path of ['/metrics', '/ready'])
          expect((await fetch(`${base}${path}`)).status, `${service} ${path}`).toBe(404);
      }
    },
  );

  it(
    'when ingestion is asked GET /sources, then it names ' + 'the simulated source of the compose environment',
    async () => {
      const res = await get(`${await serviceUrl('ingestion')}/sources`);
      expect(res.status).toBe(200);
      expect(res.body!.sources).toEqual(expect.arrayContaining([expect.any(String)]));
    },
  );

  it('when provider is asked GET /symbols, then it answers with the symbol list', async () => {
    const res = await get(`${await serviceUrl('provider')}/symbols`);
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body!.symbols)).toBe(true);
  });

  it('when the gateway is asked GET /sources, then it proxies to ingestion', async () => {
    const res = await waitFor(
      async () => {
        const r = await get(`${gatewayUrl}/sources`);
        return r.status === 200 ? r : undefined;
      },
      30_000,
      'gateway proxies /sources',
    );
    expect(res.body!.sources).toEqual(expect.arrayContaining([expect.any(String)]));
  });

  it('when simulated ticks flow through RabbitMQ into PostgreSQL, then the gateway serves a stored price', async () => {
    const symbols = await waitFor(
      async () => {
        const r = await get(`${gatewayUrl}/symbols`);
        return r.status === 200 && (r.body!.symbols as string[]).length > 0 ? (r.body!.symbols as string[]) : undefined;
      },
      45_000,
      'symbols stored by the provider',
    );
    const price = await waitFor(
      async () => {
        const r = await get(`${gatewayUrl}/prices/${encodeURIComponent(symbols[0]!)}`);
        return r.status === 200 ? r.body : undefined;
      },
      30_000,
      `a price for ${symbols[0]}`,
    );
    expect(JSON.stringify(price)).toMatch(/"price"/);
  }, 90_000);

  it("when each service gets SIGTERM (the images' STOPSIGNAL), then it deregisters and exits 0", async () => {
    for (const service of ['gateway', 'ingestion', 'provider'] as const) {
      const code = await procs[service]!.stop(15_000);
      expect(code, `${service} exit code; stderr: ${procs[service]!.stderr()}`).toBe(0);
      expect(await instances(service), `${service} deregistered`).toBeUndefined();
    }
    expect(await procs.registry!.stop(15_000)).toBe(0);
  }, 60_000);
});
