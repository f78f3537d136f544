import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { GatewayConfig } from '../../gateway/src/config.js';
import { IngestionConfig } from '../../ingestion/src/config.js';
import { ProviderConfig } from '../../provider/src/config.js';
import { RegistryConfig } from '../../registry/src/config.js';
import { readEnvFile, repoRoot } from './support/compose-file.js';
import { ensureAptTool } from './support/system-tools.js';

const missing = ensureAptTool('kubectl', 'kubectl');
const k8sDir = join(repoRoot, 'deploy/k8s');
const OVERLAYS = ['production', 'dev'];
const SERVICES: Record<string, { properties: Record<string, unknown> }> = {
  registry: RegistryConfig,
  gateway: GatewayConfig,
  ingestion: IngestionConfig,
  provider: ProviderConfig,
};

// Each kind the overlays may render, with the model that validates it against the Kubernetes OpenAPI schema.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

type Rendered = { objects: K8sObject[]; secretKeys: string[] };

/**
 * Renders an overlay as a user would after `cp secrets.env.example secrets.env`: a copy of deploy/k8s in a
 * temporary folder with every example value replaced by a test value.
 */
function render(overlay: string, workDir: string): Rendered {
  const copy = join(workDir, overlay);
  cpSync(k8sDir, copy, { recursive: true });
  const example = readEnvFile(join(k8sDir, 'overlays', overlay, 'secrets.env.example'));
  const secrets = Object.keys(example).map((key, i) => `${key}=k8s-test-${overlay}-${i}-${'x'.repeat(24)}`);
  writeFileSync(join(copy, 'overlays', overlay, 'secrets.env'), `${secrets.join('\n')}\n`);
  const result = spawnSync('kubectl', ['kustomize', join(copy, 'overlays', overlay)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(result.status, result.stderr).toBe(0);
  const objects = parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
  return { objects, secretKeys: Object.keys(example) };
}

const ofKind = <T = K8sObject>(objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as T[];
const named = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const containerOf = (d: K8sObject) =>
  (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
const portNumber = (c: Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort;

/** The variables a service's container gets: its ConfigMap's keys and its explicit env entries. */
function containerEnv(objects: K8sObject[], c: Container): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const from of c.envFrom ?? []) {
    const map = named(objects, 'ConfigMap', from.configMapRef!.name);
    expect(map, `ConfigMap ${from.configMapRef!.name}`).toBeDefined();
    for (const [k, v] of Object.entries(map!.data ?? {})) env.set(k, v);
  }
  for (const e of c.env ?? []) env.set(e.name, e.value);
  return env;
}

describe.skipIf(missing)('deploy/k8s (kustomize base and overlays)', () => {
  let workDir: string;
  const rendered: Record<string, Rendered> = {};

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'lizards-k8s-'));
    for (const overlay of OVERLAYS) rendered[overlay] = render(overlay, workDir);
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  describe.each(OVERLAYS)('overlay %s', (overlay) => {
    it(
      'when rendered by kubectl kustomize, then every object validates against the Kubernetes schema of its ' + 'kind',
      () => {
        const { objects } = rendered[overlay]!;
        expect(objects.length).toBeGreaterThan(10);
        for (const object of objects) {
          const Model = MODELS[`${object.apiVersion}/${object.kind}`];
          expect(Model, `a model for ${object.apiVersion} ${object.kind}`).toBeDefined();
          expect(() => new Model!(object as never).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
        }
      },
    );

    it(
      'when rendered, then the four services run with probes on their own ports: readiness /ready on the admin ' +
        'port, liveness /health',
      () => {
        const { objects } = rendered[overlay]!;
        for (const service of Object.keys(SERVICES)) {
          const deployment = named(objects, 'Deployment', service);
          expect(deployment, `Deployment ${service}`).toBeDefined();
          const c = containerOf(deployment!);
          expect(c.image).toMatch(new RegExp(`^lizards/${service}(:|$)`));
          const env = containerEnv(objects, c);
          expect(portNumber(c, 'http')).toBe(Number(env.get('PORT')));
          expect(portNumber(c, 'admin')).toBe(Number(env.get('ADMIN_PORT')));
          expect(c.readinessProbe?.httpGet).toEqual({ path: '/ready', port: 'admin' });
          expect(c.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
          expect(env.get('HOST')).toBe('0.0.0.0');
        }
        const ingestion = containerOf(named(objects, 'Deployment', 'ingestion')!);
        expect(portNumber(ingestion, 'grpc')).toBe(Number(containerEnv(objects, ingestion).get('GRPC_PORT')));
      },
    );

    it(
      'when rendered, then every variable a service gets is one its config schema reads, and every secret it ' +
        'refers to exists',
      () => {
        const { objects, secretKeys } = rendered[overlay]!;
        const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name.startsWith('lizards-secrets'));
        expect(secret).toBeDefined();
        expect(Object.keys(secret!.data ?? {}).sort()).toEqual([...secretKeys].sort());
        for (const [service, schema] of Object.entries(SERVICES)) {
          const c = containerOf(named(objects, 'Deployment', service)!);
          for (const name of containerEnv(objects, c).keys()) {
            expect(Object.keys(schema.properties), `${service} reads ${name}`).toContain(name);
          }
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (!ref) continue;
            expect(ref.name).toBe(secret!.metadata.name);
            expect(secretKeys, `${service}: ${e.name} from the secret`).toContain(ref.key);
          }
        }
      },
    );

    it(
      'when rendered, then gateway and provider scale with an autoscaler and every replicated service has a ' +
        'disruption budget',
      () => {
        const { objects } = rendered[overlay]!;
        const scaled = ofKind<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string } } }>(
          objects,
          'HorizontalPodAutoscaler',
        );
        expect(scaled.map((h) => `${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}`).sort()).toEqual([
          'Deployment/gateway',
          'Deployment/provider',
        ]);
        const budgets = ofKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
          objects,
          'PodDisruptionBudget',
        );
        expect(budgets.map((b) => b.spec.selector.matchLabels['app.kubernetes.io/name']).sort()).toEqual([
          'gateway',
          'ingestion',
          'provider',
        ]);
      },
    );

    it(
      'when rendered, then ingress is denied by default, only the gateway is open to the outside and the ' +
        'registry only to its namespace',
      () => {
        const { objects } = rendered[overlay]!;
        type Rule = { from?: Record<string, unknown>[]; ports?: { port: string | number }[] };
        type Policy = K8sObject & {
          spec: { podSelector: { matchLabels?: Record<string, string> }; ingress?: Rule[]; policyTypes: string[] };
        };
        const policies = ofKind<Policy>(objects, 'NetworkPolicy');
        const denyAll = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress);
        expect(denyAll?.spec.policyTypes).toEqual(['Ingress']);
        // A rule without `from` admits any source: only the gateway's public port may have one.
        const openToAll = policies.filter((p) => p.spec.ingress?.some((r) => !r.from));
        expect(
          openToAll.map((p) => [
            p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'],
            p.spec.ingress!.flatMap((r) => r.ports ?? []),
          ]),
        ).toEqual([['gateway', [{ port: 'http' }]]]);
        const registry = policies.filter(
          (p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'registry',
        );
        expect(registry.length).toBe(1);
        expect(registry[0]!.spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 'http' }] }]);
        const exposed = ofKind<K8sObject & { spec: { type?: string } }>(objects, 'Service').filter(
          (s) => s.spec.type && s.spec.type !== 'ClusterIP',
        );
        expect(exposed.map((s) => s.metadata.name)).toEqual(overlay === 'production' ? ['gateway'] : []);
      },
    );
  });

  it(
    'when the dev overlay is rendered, then PostgreSQL, Redis, RabbitMQ and MongoDB run in the cluster and the ' +
      'URLs the services use name them',
    () => {
      const { objects } = rendered.dev!;
      expect(
        ofKind(objects, 'StatefulSet')
          .map((s) => s.metadata.name)
          .sort(),
      ).toEqual(['mongo', 'postgres', 'rabbitmq', 'redis']);
      const example = readEnvFile(join(k8sDir, 'overlays/dev/secrets.env.example'));
      expect(new URL(example.DATABASE_URL!).hostname).toBe('postgres');
      expect(new URL(example.AMQP_URL!).hostname).toBe('rabbitmq');
      expect(new URL(example.REDIS_URL!).hostname).toBe('redis');
      expect(new URL(example.MONGO_URL!).hostname).toBe('mongo');
    },
  );

  it(
    'when the production overlay is rendered, then no backing service runs in the cluster: they are reached by ' +
      'URL from the secret',
    () => {
      const { objects } = rendered.production!;
      expect(ofKind(objects, 'StatefulSet')).toEqual([]);
      const provider = containerOf(named(objects, 'Deployment', 'provider')!);
      expect(provider.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.key).toBe('DATABASE_URL');
    },
  );

  it('when secrets.env is missing, then kustomize refuses to render (no overlay ships a secret)', () => {
    const copy = join(workDir, 'without-secrets');
    cpSync(k8sDir, copy, { recursive: true });
    rmSync(join(copy, 'overlays/production/secrets.env'), { force: true });
    const result = spawnSync('kubectl', ['kustomize', join(copy, 'overlays/production')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/secrets\.env/);
    expect(readFileSync(join(repoRoot, '.gitignore'), 'utf8')).toMatch(/secrets\.env/);
  });
});
