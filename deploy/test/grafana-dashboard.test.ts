import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createTestSchema, runId } from '../../provider/test/support/backends.js';
import { repoRoot } from './support/compose-file.js';
import { exportedSampleNames, metricNamesIn } from './support/metric-names.js';
import { startService, waitFor, type ServiceProcess } from '@lizards/testkit';
import { exitedService, readyUrl } from './support/service-process.js';
import { ensureAptTool } from './support/system-tools.js';

const grafanaDir = `${repoRoot}deploy/grafana`;
const dashboardPath = `${grafanaDir}/dashboards/lizards.json`;
const alertsPath = `${repoRoot}deploy/prometheus/alerts.yml`;

// Series that do not come from our services: Prometheus's own per-target `up`, and the per-queue gauges of
// RabbitMQ's rabbitmq_prometheus plugin (/metrics/per-object), which the local test broker does not run.
const NOT_FROM_SERVICES = new Set(['up', 'rabbitmq_queue_messages', 'rabbitmq_queue_messages_ready']);

interface Panel {
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}
const dashboard = () =>
  JSON.parse(readFileSync(dashboardPath, 'utf8')) as { uid: string; title: string; panels: Panel[] };
const dashboardExprs = () => dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const alertExprs = () =>
  (parse(readFileSync(alertsPath, 'utf8')) as { groups: { rules: { expr: string }[] }[] }).groups.flatMap((g) =>
    g.rules.map((r) => r.expr),
  );

describe('Grafana provisioning', () => {
  it('when the dashboard file is read, then it is valid JSON with a query in every panel', () => {
    const d = dashboard();
    expect(d.uid).toBe('lizards-overview');
    expect(d.panels.length).toBeGreaterThan(0);
    for (const panel of d.panels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it('when the panels are listed, then they cover the gateway, WebSocket, ingestion, queue and registry views', () => {
    const titles = dashboard().panels.map((p) => p.title.toLowerCase());
    for (const topic of [
      'requests/s per route',
      'p99 latency per route',
      'cache hit ratio',
      'rate-limited',
      'websocket connections',
      'websocket messages/s',
      'tick-to-push',
      'fetches',
      'rejections',
      'queue depth',
      'instances per service',
    ])
      expect(
        titles.some((t) => t.includes(topic)),
        topic,
      ).toBe(true);
  });

  it(
    'when the datasource and dashboard provisioning are read, then the panels use the provisioned datasource ' +
      'and the provider reads the mounted folder',
    () => {
      const datasources = (
        parse(readFileSync(`${grafanaDir}/provisioning/datasources/prometheus.yml`, 'utf8')) as {
          datasources: { uid: string; url: string }[];
        }
      ).datasources;
      expect(datasources).toEqual([expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' })]);
      for (const panel of dashboard().panels) {
        expect(panel.datasource?.uid, panel.title).toBe('prometheus');
        for (const t of panel.targets ?? []) expect(t.datasource?.uid ?? 'prometheus', panel.title).toBe('prometheus');
      }
      const providers = (
        parse(readFileSync(`${grafanaDir}/provisioning/dashboards/lizards.yml`, 'utf8')) as {
          providers: { options: { path: string } }[];
        }
      ).providers;
      expect(providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
      expect(readFileSync(`${repoRoot}compose.yaml`, 'utf8')).toContain(
        './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      );
    },
  );

  const missingPromtool = ensureAptTool('promtool', 'prometheus');
  it.skipIf(missingPromtool !== undefined)(
    'when promtool parses every dashboard query, then each is valid PromQL' +
      (missingPromtool ? ` (skipped: ${missingPromtool})` : ''),
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'lz-dash-'));
      try {
        const rules = {
          groups: [
            { name: 'dashboard', rules: dashboardExprs().map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) },
          ],
        };
        writeFileSync(join(dir, 'rules.yml'), stringify(rules));
        const result = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(result.status, result.stdout + result.stderr).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('metric names used by the dashboard and the alert rules', () => {
  // The four services from their build output (`npx tsc -b` first), embedded adapters except the provider's store:
  // the local PostgreSQL (a schema of this run's own) starts much faster than PGlite on a busy machine.
  const procs: ServiceProcess[] = [];
  const exported = new Set<string>();
  let db: Awaited<ReturnType<typeof createTestSchema>>;

  beforeAll(async () => {
    db = await createTestSchema(runId());
    const registry = startService('registry', `${repoRoot}registry/dist/server.js`, repoRoot, {
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    procs.push(registry);
    const dead = () => exitedService(procs);
    const registryUrl = await waitFor(() => readyUrl(registry, 'registry ready'), 20_000, 'registry ready', 100, dead);
    const env = {
      PORT: '0',
      REGISTRY_URL: registryUrl,
      LOG_LEVEL: 'warn',
      SESSION_SECRET: 'metrics-test-secret-0123456789',
    };
    procs.push(
      startService('provider', `${repoRoot}provider/dist/server.js`, repoRoot, {
        ...env,
        DATABASE_URL: db.url,
        DATABASE_SCHEMA: db.schema,
      }),
    );
    for (const service of ['ingestion', 'gateway'])
      procs.push(startService(service, `${repoRoot}${service}/dist/server.js`, repoRoot, env));

    // Each service's /metrics is on its admin listener, as Prometheus finds it: the registered admin_port.
    for (const service of ['registry', 'provider', 'ingestion', 'gateway']) {
      const base =
        service === 'registry'
          ? readyUrl(registry, 'registry ready', 'adminUrl')
          : await waitFor(
              async () => {
                const res = await fetch(`${registryUrl}/services/${service}`);
                if (res.status !== 200) return undefined;
                const [i] = ((await res.json()) as { instances: { ip_address: string; admin_port: string }[] })
                  .instances;
                return `http://${i!.ip_address}:${i!.admin_port}`;
              },
              60_000,
              `${service} registered`,
              100,
              dead,
            );
      const res = await fetch(`${base}/metrics`);
      expect(res.status, `${service} /metrics`).toBe(200);
      for (const name of exportedSampleNames(await res.text())) exported.add(name);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop(5000)));
    await db?.drop();
  }, 30_000);

  it('when the queries are parsed, then they name metrics at all (the extraction works)', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) ' +
          '(rate(http_request_duration_seconds_bucket{service="gateway"}[5m])))',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(dashboardExprs().flatMap(metricNamesIn).length).toBeGreaterThan(10);
  });

  it('when the dashboard queries are read, then every metric they use is exported by some service', () => {
    const unknown = [...new Set(dashboardExprs().flatMap(metricNamesIn))].filter(
      (n) => !NOT_FROM_SERVICES.has(n) && !exported.has(n),
    );
    expect(unknown).toEqual([]);
  });

  it('when the alert rules are read, then every metric they use is exported by some service', () => {
    const unknown = [...new Set(alertExprs().flatMap(metricNamesIn))].filter(
      (n) => !NOT_FROM_SERVICES.has(n) && !exported.has(n),
    );
    expect(unknown).toEqual([]);
  });
});
