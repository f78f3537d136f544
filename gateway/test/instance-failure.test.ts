import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

const LEASE_TTL_MS = 1500;
const COOL_OFF_MS = 2500;

async function metric(gateway: RunningGateway, name: string): Promise<number> {
  const text = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function getInstance(
  gateway: RunningGateway,
  path = '/prices/AAPL?cc=no-store',
): Promise<{ status: number; instance?: string }> {
  const res = await request(`${gateway.url}${path}`);
  const body = (await res.body.json()) as { instance?: string };
  return { status: res.statusCode, ...(body.instance ? { instance: body.instance } : {}) };
}

describe('an instance that dies without deregistering', () => {
  let registry: RunningRegistry;
  let upstreams: UpstreamDouble[] = [];
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry({ leaseTtlMs: LEASE_TTL_MS });
    upstreams = await Promise.all(['a', 'b', 'c'].map((id) => startUpstream({ id, registryUrl: registry.url })));
    gateway = await startGateway({ REGISTRY_URL: registry.url, BREAKER_COOL_OFF_MS: String(COOL_OFF_MS) });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 3, 10_000, 'three instances');
    // Warm keep-alive connections to every instance, so the kill also breaks pooled sockets.
    for (let i = 0; i < 6; i++) expect((await getInstance(gateway)).status).toBe(200);
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
    await registry?.close();
  });

  it(
    'when it is killed, then no GET fails, one GET is retried, and it is skipped until it recovers, then used ' +
      'again',
    async () => {
      const [, b] = upstreams as [UpstreamDouble, UpstreamDouble, UpstreamDouble];
      const retriesBefore = await metric(gateway, 'gateway_upstream_retries_total');
      await b.kill();

      const seen: Record<string, number> = {};
      const started = Date.now();
      for (let i = 0; i < 30; i++) {
        const { status, instance } = await getInstance(gateway);
        expect(status).toBe(200);
        seen[instance!] = (seen[instance!] ?? 0) + 1;
      }
      expect(seen.b).toBeUndefined();
      expect(seen.a! + seen.c!).toBe(30);
      // One retry opens the circuit; only a probe after a full cool-off (on a very slow machine) could add one.
      const retries = (await metric(gateway, 'gateway_upstream_retries_total')) - retriesBefore;
      expect(retries).toBeGreaterThanOrEqual(1);
      expect(retries).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / COOL_OFF_MS));

      // Back at the same address (same lease): after the cool-off one request probes it and it rejoins.
      const revived = await startUpstream({ id: 'b-revived', registryUrl: registry.url, port: b.port });
      upstreams[1] = revived;
      expect(revived.instanceId).toBe(b.instanceId);
      await waitFor(
        async () => {
          const { status, instance } = await getInstance(gateway);
          expect(status).toBe(200);
          return instance === 'b-revived';
        },
        10_000,
        'the revived instance to be probed',
        50,
      );
      const after: Record<string, number> = {};
      for (let i = 0; i < 30; i++) {
        const { instance } = await getInstance(gateway);
        after[instance!] = (after[instance!] ?? 0) + 1;
      }
      expect(after).toEqual({ a: 10, 'b-revived': 10, c: 10 });
    },
  );

  it('when the registry evicts it, then it is gone from rotation and nothing is retried any more', async () => {
    const victim = upstreams[1]!;
    await victim.kill();
    await waitFor(
      () => !gateway.app.gateway.directory.instances('provider').some((i) => i.instance_id === victim.instanceId),
      LEASE_TTL_MS + 5000,
      'eviction to reach the gateway',
    );
    const retriesBefore = await metric(gateway, 'gateway_upstream_retries_total');
    // Longer than the cool-off would allow a probe: an evicted instance is never probed.
    const deadline = Date.now() + 3000;
    let n = 0;
    while (Date.now() < deadline) {
      const { status, instance } = await getInstance(gateway);
      expect(status).toBe(200);
      expect(['a', 'c']).toContain(instance);
      n++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(n).toBeGreaterThan(10);
    expect(await metric(gateway, 'gateway_upstream_retries_total')).toBe(retriesBefore);
  });
});

describe('failures that are not about connecting', () => {
  let registry: RunningRegistry;
  let upstreams: UpstreamDouble[] = [];
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry();
    upstreams = await Promise.all(['a', 'b'].map((id) => startUpstream({ id, registryUrl: registry.url })));
  });

  // A fresh gateway per test: every circuit starts closed.
  beforeEach(async () => {
    gateway = await startGateway({
      REGISTRY_URL: registry.url,
      BREAKER_COOL_OFF_MS: '60000',
      GATEWAY_ROUTES: JSON.stringify([{ path: '/prices/*', timeoutMs: 300 }]),
    });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 2, 10_000, 'two instances');
  });

  afterEach(async () => {
    for (const u of upstreams) u.mode = 'ok';
    await gateway.close();
  });

  afterAll(async () => {
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
    await registry?.close();
  });

  it(
    'when a POST reaches the upstream and the connection breaks, then it is not retried (502, one upstream ' +
      'request)',
    async () => {
      const before = upstreams.map((u) => u.hits.get('/session') ?? 0);
      const res = await request(`${gateway.url}/session?destroy=1`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toMatchObject({
        error: 'Bad Gateway',
        code: 'LZ_ERR_GATEWAY_UPSTREAM_UNAVAILABLE',
      });
      const after = upstreams.map((u) => u.hits.get('/session') ?? 0);
      expect(after[0]! + after[1]! - before[0]! - before[1]!).toBe(1);
    },
  );

  it(
    'when an instance answers 5xx, then the answer is passed ' + 'on and its circuit opens (later requests skip it)',
    async () => {
      const failing = upstreams[0]!;
      failing.mode = 'fail';
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await request(`${gateway.url}/symbols?cc=no-store`)).statusCode);
      expect(statuses.filter((s) => s === 503)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      const breakers = gateway.app.gateway.balancer.snapshot(['provider']);
      expect(breakers.find((b) => b.instanceId === failing.instanceId)?.state).toBe('open');
      const text = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
      expect(text).toContain(
        `gateway_breaker_state{upstream_service="provider",upstream="${failing.address}",service="gateway"} 2`,
      );
    },
  );

  it(
    'when instances hang past the route timeout, then each request gets 504 and, every circuit open, 503 with ' +
      'Retry-After',
    async () => {
      for (const u of upstreams) u.mode = 'hang';
      for (let i = 0; i < 2; i++) {
        const res = await request(`${gateway.url}/prices/TSLA?cc=no-store`);
        expect(res.statusCode).toBe(504);
        expect(await res.body.json()).toMatchObject({
          error: 'Gateway Timeout',
          code: 'LZ_ERR_GATEWAY_UPSTREAM_TIMEOUT',
        });
      }
      expect(gateway.app.gateway.balancer.snapshot(['provider']).map((b) => b.state)).toEqual(['open', 'open']);
      const res = await request(`${gateway.url}/prices/TSLA?cc=no-store`);
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(await res.body.json()).toMatchObject({ error: 'Service Unavailable', code: 'LZ_ERR_GATEWAY_NO_INSTANCE' });
    },
  );
});

describe('every instance of a service down, still registered', () => {
  let registry: RunningRegistry;
  let upstreams: UpstreamDouble[] = [];
  let gateway: RunningGateway;

  beforeAll(async () => {
    // A lease long enough that the dead instances stay registered through the test.
    registry = await startRegistry({ leaseTtlMs: 60_000 });
    upstreams = await Promise.all(['a', 'b'].map((id) => startUpstream({ id, registryUrl: registry.url })));
    gateway = await startGateway({ REGISTRY_URL: registry.url, BREAKER_COOL_OFF_MS: '60000' });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 2, 10_000, 'two instances');
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(upstreams.map((u) => u.stop().catch(() => undefined)));
    await registry?.close();
  });

  it(
    'when a GET can reach none of them, then it gets 503 ' + 'with Retry-After (the upstream is down), not 502',
    async () => {
      for (const u of upstreams) await u.kill();
      const res = await request(`${gateway.url}/prices/AAPL?cc=no-store`);
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(await res.body.json()).toMatchObject({
        error: 'Service Unavailable',
        code: 'LZ_ERR_GATEWAY_UPSTREAM_DOWN',
      });
    },
  );
});
