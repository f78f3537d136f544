import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@lizards/testkit';
import { buildRegistryApp, type RegistryAppOptions } from '../src/app.js';

interface Running {
  base: string;
  call(
    method: string,
    path: string,
    body?: object,
    dispatcher?: Dispatcher,
  ): Promise<{ status: number; headers: Record<string, unknown>; json: Record<string, unknown> | undefined }>;
  metric(name: string): Promise<number | undefined>;
  close(): Promise<void>;
}

const running: Running[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

async function start(opts: Partial<RegistryAppOptions>): Promise<Running> {
  const app = buildRegistryApp({ leaseTtlMs: 30_000, evictionIntervalMs: 25, logger: false, ...opts });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const r: Running = {
    base,
    async call(method, path, body, dispatcher) {
      const res = await request(`${base}${path}`, {
        method: method as 'GET',
        body: body ? JSON.stringify(body) : null,
        headersTimeout: 10_000,
        ...(dispatcher ? { dispatcher } : {}),
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      };
    },
    async metric(name) {
      const text = (await app.admin.inject({ url: '/metrics' })).body;
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    },
    close: () => app.close(),
  };
  running.push(r);
  return r;
}

const registration = (port: number) => ({
  name: `i-${port}`,
  ip_address: '10.2.0.1',
  port_number: port,
  protocol: 'http',
});

/** A client that connects from another loopback address, i.e. another client as the registry sees it. */
function clientFrom(localAddress: string): Agent {
  const agent = new Agent({ localAddress });
  agents.push(agent);
  return agent;
}

describe('POST /services/:service-id at capacity', () => {
  it(
    'when the registry holds REGISTRY_MAX_SERVICES services, then a new service gets 503 with Retry-After (the ' +
      'lease TTL) and a JSON error, and is not registered',
    async () => {
      const r = await start({ limits: { maxServices: 3 } });
      for (const id of ['cap-a', 'cap-b', 'cap-c'])
        expect((await r.call('POST', `/services/${id}`, registration(80))).status).toBe(200);
      const refused = await r.call('POST', '/services/cap-d', registration(80));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('30');
      expect(refused.json).toMatchObject({ error: 'Service Unavailable', code: 'LZ_ERR_REGISTRY_FULL' });
      expect(String(refused.json!.message)).toContain('3 services');
      expect((await r.call('GET', '/services/cap-d')).status).toBe(404);
    },
  );

  it(
    'when the registry is full, then known instances still refresh and heartbeat, new instances of known ' +
      'services register, and a freed slot is taken again',
    async () => {
      const r = await start({ limits: { maxServices: 2 } });
      const a = await r.call('POST', '/services/full-a', registration(80));
      await r.call('POST', '/services/full-b', registration(80));
      expect((await r.call('POST', '/services/full-a', registration(80))).json!.instance_id).toBe(a.json!.instance_id);
      expect((await r.call('PUT', `/services/full-a/${String(a.json!.instance_id)}/heartbeat`)).status).toBe(200);
      expect((await r.call('POST', '/services/full-a', registration(81))).status).toBe(200);
      expect((await r.call('POST', '/services/full-c', registration(80))).status).toBe(503);
      const b = (await r.call('GET', '/services/full-b')).json!.instances as Array<{ instance_id: string }>;
      expect((await r.call('DELETE', `/services/full-b/${b[0]!.instance_id}`)).status).toBe(204);
      expect((await r.call('POST', '/services/full-c', registration(80))).status).toBe(200);
    },
  );

  it(
    'when a service holds REGISTRY_MAX_INSTANCES_PER_SERVICE instances, then another address gets 503 with ' +
      'Retry-After; the same addresses and other services still register',
    async () => {
      const r = await start({ limits: { maxInstancesPerService: 2 } });
      expect((await r.call('POST', '/services/crowded', registration(80))).status).toBe(200);
      expect((await r.call('POST', '/services/crowded', registration(81))).status).toBe(200);
      const refused = await r.call('POST', '/services/crowded', registration(82));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('30');
      expect(refused.json).toMatchObject({ error: 'Service Unavailable', code: 'LZ_ERR_REGISTRY_SERVICE_FULL' });
      expect(String(refused.json!.message)).toContain('crowded');
      expect((await r.call('POST', '/services/crowded', registration(81))).status).toBe(200);
      expect((await r.call('POST', '/services/roomy', registration(82))).status).toBe(200);
      expect((await r.call('GET', '/services/crowded')).json!.instance_count).toBe(2);
    },
  );
});

describe('tombstones (change indexes of services that emptied)', () => {
  it(
    'when more services empty out than REGISTRY_MAX_TOMBSTONES, then only that many are kept, and a watcher ' +
      'with an index from before a pruned deletion is still answered at once',
    async () => {
      const r = await start({ limits: { maxTombstones: 2 } });
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++)
        ids.push(String((await r.call('POST', `/services/gone-${i}`, registration(80))).json!.instance_id));
      const before = Number((await r.call('GET', '/services/gone-1')).headers['x-registry-index']);
      for (let i = 1; i <= 5; i++)
        expect((await r.call('DELETE', `/services/gone-${i}/${ids[i - 1]}`)).status).toBe(204);
      expect(await r.metric('registry_tombstones')).toBe(2);
      // gone-1's tombstone is pruned: its deletion must still wake a watcher that has not seen it.
      const started = Date.now();
      const watch = await r.call('GET', `/services/gone-1?index=${before}&wait=20s`);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(watch.status).toBe(404);
      expect(Number(watch.headers['x-registry-index'])).toBeGreaterThan(before);
      // and a watcher that has seen it waits for the next change, as before
      const seen = Number(watch.headers['x-registry-index']);
      const waiting = r.call('GET', `/services/gone-1?index=${seen}&wait=20s`);
      await waitFor(async () => (await r.metric('registry_blocking_queries')) === 1, 5000, 'the watcher to block');
      await r.call('POST', '/services/gone-1', registration(80));
      expect((await waiting).status).toBe(200);
    },
  );

  it('when a tombstone is older than REGISTRY_TOMBSTONE_TTL_MS, then it is pruned', async () => {
    let now = Date.now();
    const r = await start({ now: () => now, limits: { tombstoneTtlMs: 60_000 } });
    const instance = (await r.call('POST', '/services/aged', registration(80))).json!;
    await r.call('DELETE', `/services/aged/${String(instance.instance_id)}`);
    expect(await r.metric('registry_tombstones')).toBe(1);
    now += 61_000;
    await waitFor(async () => (await r.metric('registry_tombstones')) === 0, 5000, 'the aged tombstone to be pruned');
  });
});

describe('blocking queries (GET /services/:service-id?index=N&wait=…)', () => {
  it(
    'when one client holds REGISTRY_MAX_WATCHES_PER_CLIENT blocking queries, then its next gets 429 with ' +
      'Retry-After and a JSON error; plain reads and other clients are still served',
    async () => {
      const r = await start({ limits: { maxWatchesPerClient: 2, maxWatches: 10 } });
      const held = [
        r.call('GET', '/services/watched?index=999&wait=20s'),
        r.call('GET', '/services/watched?index=999&wait=20s'),
      ];
      await waitFor(async () => (await r.metric('registry_blocking_queries')) === 2, 5000, 'two blocking queries');
      const refused = await r.call('GET', '/services/watched?index=999&wait=20s');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json).toMatchObject({ error: 'Too Many Requests', code: 'LZ_ERR_REGISTRY_TOO_MANY_WATCHES' });
      expect((await r.call('GET', '/services/watched')).status).toBe(404);
      const other = r.call('GET', '/services/watched?index=999&wait=20s', undefined, clientFrom('127.0.0.2'));
      await waitFor(async () => (await r.metric('registry_blocking_queries')) === 3, 5000, 'the other client to block');
      // A change answers every watcher, which frees the slots.
      await r.call('POST', '/services/watched', registration(80));
      expect((await Promise.all([...held, other])).map((w) => w.status)).toEqual([200, 200, 200]);
      expect(await r.metric('registry_blocking_queries')).toBe(0);
    },
  );

  it(
    'when REGISTRY_MAX_WATCHES blocking queries are held in all, then the next, from any client, gets 503 with ' +
      'Retry-After',
    async () => {
      const r = await start({ limits: { maxWatchesPerClient: 2, maxWatches: 3 } });
      const held = [
        r.call('GET', '/services/crowd?index=999&wait=20s'),
        r.call('GET', '/services/crowd?index=999&wait=20s', undefined, clientFrom('127.0.0.2')),
        r.call('GET', '/services/crowd?index=999&wait=20s', undefined, clientFrom('127.0.0.3')),
      ];
      await waitFor(async () => (await r.metric('registry_blocking_queries')) === 3, 5000, 'three blocking queries');
      const refused = await r.call('GET', '/services/crowd?index=999&wait=20s', undefined, clientFrom('127.0.0.4'));
      expect(refused.status).toBe(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json).toMatchObject({ error: 'Service Unavailable', code: 'LZ_ERR_REGISTRY_WATCHES_FULL' });
      // A query that is answered at once takes no slot, so it is served even now.
      await r.call('POST', '/services/elsewhere', registration(80));
      expect(
        (await r.call('GET', '/services/elsewhere?index=0&wait=20s', undefined, clientFrom('127.0.0.4'))).status,
      ).toBe(200);
      await r.call('POST', '/services/crowd', registration(80));
      expect((await Promise.all(held)).map((w) => w.status)).toEqual([200, 200, 200]);
    },
  );
});
