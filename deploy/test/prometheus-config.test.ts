import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildRegistryApp } from '../../registry/src/app.js';
import { repoRoot } from './support/compose-file.js';
import { ensureAptTool } from './support/system-tools.js';

const promDir = `${repoRoot}deploy/prometheus`;
const missing = ensureAptTool('promtool', 'prometheus');
const TOKEN = 'sd-test-token';

function promtool(args: string[]) {
  return spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
}

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Prometheus's HTTP SD format: a JSON list of target groups, each with host:port targets and string labels. */
function expectHttpSdFormat(body: unknown): asserts body is TargetGroup[] {
  expect(Array.isArray(body)).toBe(true);
  for (const group of body as unknown[]) {
    expect(Object.keys(group as object).sort()).toEqual(['labels', 'targets']);
    const { targets, labels } = group as TargetGroup;
    expect(Array.isArray(targets)).toBe(true);
    for (const t of targets) expect(t).toMatch(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/);
    for (const [name, value] of Object.entries(labels)) {
      expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      expect(typeof value).toBe('string');
    }
  }
}

describe.skipIf(missing !== undefined)(`Prometheus configuration${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('when promtool checks prometheus.yml, then the config and the rule file it names are valid', () => {
    const result = promtool(['check', 'config', `${promDir}/prometheus.yml`]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 1 rule files found');
  });

  it('when promtool checks the alert rules, then the four alerts are valid', () => {
    const result = promtool(['check', 'rules', `${promDir}/alerts.yml`]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const rules = (
      parse(readFileSync(`${promDir}/alerts.yml`, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    expect(Object.fromEntries(rules.map((r) => [r.alert, r.expr]))).toEqual({
      NoTicksStored: expect.stringContaining('provider_ticks_stored_total'),
      InstanceFlapping: expect.stringContaining('registry_evictions_total'),
      DeadLetterQueueNotEmpty: expect.stringContaining('.dlq'),
      IngestionRawStoreFull: expect.stringContaining('ingestion_raw_store_full'),
    });
  });

  it('when the config is read, then instances come from the registry SD endpoint, not from a static list', () => {
    const config = parse(readFileSync(`${promDir}/prometheus.yml`, 'utf8')) as {
      scrape_configs: {
        job_name: string;
        http_sd_configs?: { url: string }[];
        static_configs?: { targets: string[] }[];
      }[];
    };
    const lizards = config.scrape_configs.find((c) => c.job_name === 'lizards')!;
    expect(lizards.http_sd_configs).toEqual([expect.objectContaining({ url: 'http://registry:8500/sd/prometheus' })]);
    expect(lizards.static_configs).toBeUndefined();
    const staticTargets = config.scrape_configs.flatMap((c) => c.static_configs ?? []).flatMap((s) => s.targets);
    expect(staticTargets).toEqual(['rabbitmq:15692']);
  });
});

describe('GET /sd/prometheus', () => {
  let app: ReturnType<typeof buildRegistryApp>;
  let base: string;
  let adminPort: number;
  let workDir: string;

  beforeAll(async () => {
    app = buildRegistryApp({ leaseTtlMs: 60_000, evictionIntervalMs: 1000, token: TOKEN, logger: false });
    // On the wildcard address, as in a container: the registry then lists its admin listener as 0.0.0.0:<port>.
    await app.listen({ host: '0.0.0.0', port: 0 });
    await app.admin.listen({ host: '0.0.0.0', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    adminPort = (app.admin.server.address() as AddressInfo).port;
    workDir = mkdtempSync(join(tmpdir(), 'lz-sd-'));
  });
  afterAll(async () => {
    await app?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it(
    'when no instance is registered and the registry does not know its own address, then the answer is an ' +
      'empty list',
    async () => {
      const bare = buildRegistryApp({ leaseTtlMs: 60_000, evictionIntervalMs: 1000, logger: false });
      try {
        const res = await bare.inject({ method: 'GET', url: '/sd/prometheus' });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.json()).toEqual([]);
      } finally {
        await bare.close();
      }
    },
  );

  it(
    'when HTTP and gRPC instances are registered, then the admin listener of every HTTP instance and of the ' +
      'registry is listed in HTTP SD format',
    async () => {
      const register = (service: string, body: object) =>
        fetch(`${base}/services/${service}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(body),
        });
      for (const [service, body] of [
        [
          'provider',
          { name: 'provider-1', ip_address: '10.0.0.5', port_number: '3000', protocol: 'http', admin_port: '9464' },
        ],
        [
          'provider',
          { name: 'provider-2', ip_address: '10.0.0.6', port_number: '3000', protocol: 'http', admin_port: 9464 },
        ],
        ['ingestion-grpc', { name: 'ingestion-1', ip_address: '10.0.0.7', port_number: '50051', protocol: 'gRPC' }],
      ] as const)
        expect((await register(service, body)).status).toBe(200);

      const res = await fetch(`${base}/sd/prometheus`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body: unknown = await res.json();
      expectHttpSdFormat(body);
      expect(body.flatMap((g) => g.targets).sort()).toEqual(
        ['10.0.0.5:9464', '10.0.0.6:9464', `0.0.0.0:${adminPort}`].sort(),
      );
      for (const group of body)
        expect(group.labels).toMatchObject({
          service: expect.any(String),
          __metrics_path__: '/metrics',
          __scheme__: 'http',
        });
    },
  );

  it.skipIf(missing !== undefined)(
    'when promtool discovers through our prometheus.yml pointed at this registry, then it finds every target ' +
      'with its labels',
    async () => {
      const config = readFileSync(`${promDir}/prometheus.yml`, 'utf8').replace(
        'http://registry:8500/sd/prometheus',
        `${base}/sd/prometheus`,
      );
      writeFileSync(join(workDir, 'prometheus.yml'), config);
      cpSync(`${promDir}/alerts.yml`, join(workDir, 'alerts.yml'));
      // Asynchronously: the registry answering promtool runs in this process.
      const result = await promisify(execFile)(
        'promtool',
        ['check', 'service-discovery', '--timeout=5s', join(workDir, 'prometheus.yml'), 'lizards'],
        { timeout: 20_000 },
      );
      const discovered = JSON.parse(result.stdout) as { labels: Record<string, string> }[];
      const byInstance = Object.fromEntries(discovered.map((d) => [d.labels.instance, d.labels]));
      expect(byInstance['provider-1']).toMatchObject({
        __address__: '10.0.0.5:9464',
        service: 'provider',
        __metrics_path__: '/metrics',
        __scheme__: 'http',
        job: 'lizards',
      });
      expect(byInstance['provider-2']).toMatchObject({ __address__: '10.0.0.6:9464', service: 'provider' });
      // prometheus.yml's relabeling turns the registry's wildcard self-address into its compose name.
      expect(byInstance.registry).toMatchObject({ __address__: `registry:${adminPort}`, service: 'registry' });
    },
  );
});
