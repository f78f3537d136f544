import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

async function ready(
  gateway: RunningGateway,
): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const res = await request(`${gateway.adminUrl}/ready`);
  return {
    status: res.statusCode,
    body: (await res.body.json()) as { status: string; checks: Record<string, string> },
  };
}

describe('registry unreachable (fail-static)', () => {
  let registry: RunningRegistry;
  let upstreams: UpstreamDouble[];
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry();
    upstreams = await Promise.all(['a', 'b'].map((id) => startUpstream({ id, registryUrl: registry.url })));
    gateway = await startGateway({ REGISTRY_URL: registry.url, REGISTRY_RETRY_MS: '100' });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 2, 10_000, 'two instances');
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(upstreams.map((u) => u.stop()));
    await registry?.close();
  });

  it(
    'when the registry goes down, then the gateway keeps routing to the last known instances and reports it in ' +
      '/ready and a metric',
    async () => {
      expect(await ready(gateway)).toMatchObject({ status: 200, body: { checks: { registry: 'ok' } } });
      const port = registry.port;
      await registry.close();
      await waitFor(() => gateway.app.gateway.directory.failStatic.includes('provider'), 10_000, 'fail-static');

      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await request(`${gateway.url}/prices/AAPL?cc=no-store`);
        expect(res.statusCode).toBe(200);
        seen.add(((await res.body.json()) as { instance: string }).instance);
      }
      expect(seen).toEqual(new Set(['a', 'b']));

      // Degraded, still ready: every gateway losing the registry at once must not leave the load balancer empty.
      const state = await ready(gateway);
      expect(state.status).toBe(200);
      expect(state.body.status).toBe('degraded');
      expect(state.body.checks.registry).toMatch(/^degraded: unreachable; serving last known instances of .*provider/);
      const metrics = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
      expect(metrics).toMatch(/gateway_registry_fail_static\{upstream_service="provider"[^}]*\} 1/);

      // The registry comes back empty; instances re-register on their next heartbeat and the gateway follows.
      registry = await startRegistry({ port });
      await waitFor(async () => (await ready(gateway)).body.status === 'ready', 10_000, 'ready again');
      expect((await ready(gateway)).body.checks.registry).toBe('ok');
      // Until they have, the last known instances stay in use: no request fails during the recovery.
      for (let i = 0; i < 20; i++) {
        const res = await request(`${gateway.url}/prices/AAPL?cc=no-store`);
        expect(res.statusCode).toBe(200);
        await res.body.dump();
      }
      await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 2, 10_000, 'instances back');
      const after = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
      expect(after).toMatch(/gateway_registry_fail_static\{upstream_service="provider"[^}]*\} 0/);
    },
  );

  it(
    'when the gateway starts while the registry is unreachable, then it is not ready (no instance known to ' +
      'fall back on) and a route answers 503',
    async () => {
      const blind = await startGateway({ REGISTRY_URL: 'http://127.0.0.1:9', REGISTRY_RETRY_MS: '100' });
      try {
        await waitFor(() => blind.app.gateway.directory.neverResolved.includes('provider'), 10_000, 'a failed lookup');
        const state = await ready(blind);
        expect(state.status).toBe(503);
        expect(state.body).toMatchObject({
          status: 'not ready',
          checks: { registry: expect.stringContaining('no instances known for') },
        });
        const res = await request(`${blind.url}/prices/AAPL`);
        expect(res.statusCode).toBe(503);
        await res.body.dump();
      } finally {
        await blind.close();
      }
    },
  );
});
