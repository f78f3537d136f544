import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { RoundRobin } from '../src/upstreams/round-robin.js';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

describe('RoundRobin', () => {
  it('when picking repeatedly, then it cycles through the items in order, skipping ineligible ones', () => {
    const rr = new RoundRobin<string>();
    expect([1, 2, 3, 4].map(() => rr.pick(['a', 'b', 'c']))).toEqual(['a', 'b', 'c', 'a']);
    expect([1, 2, 3].map(() => rr.pick(['a', 'b', 'c'], (x) => x !== 'c'))).toEqual(['b', 'a', 'b']);
    expect(rr.pick([], () => true)).toBeUndefined();
    expect(rr.pick(['a'], () => false)).toBeUndefined();
  });
});

describe('GET /prices/* across three registered instances', () => {
  let registry: RunningRegistry;
  let upstreams: UpstreamDouble[];
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry();
    upstreams = await Promise.all(['a', 'b', 'c'].map((id) => startUpstream({ id, registryUrl: registry.url })));
    gateway = await startGateway({ REGISTRY_URL: registry.url });
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 3, 10_000, 'three instances');
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(upstreams.map((u) => u.stop()));
    await registry?.close();
  });

  it('when N requests are sent, then each instance gets N/3 ± 1 of them', async () => {
    const n = 61;
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await request(`${gateway.url}/prices/AAPL?cc=no-store&i=${i}`);
      expect(res.statusCode).toBe(200);
      const body = (await res.body.json()) as { instance: string };
      seen[body.instance] = (seen[body.instance] ?? 0) + 1;
    }
    expect(Object.keys(seen).sort()).toEqual(['a', 'b', 'c']);
    for (const count of Object.values(seen)) expect(Math.abs(count - n / 3)).toBeLessThanOrEqual(1);
  });

  it('when requests run concurrently, then they are still spread evenly', async () => {
    const n = 90;
    const bodies = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await request(`${gateway.url}/symbols?cc=no-store&i=${i}`);
        return (await res.body.json()) as { instance: string };
      }),
    );
    const seen: Record<string, number> = {};
    for (const b of bodies) seen[b.instance] = (seen[b.instance] ?? 0) + 1;
    for (const id of ['a', 'b', 'c']) expect(Math.abs((seen[id] ?? 0) - n / 3)).toBeLessThanOrEqual(1);
  });

  it('when a new instance registers, then it joins the rotation without a restart (watch)', async () => {
    const d = await startUpstream({ id: 'd', registryUrl: registry.url });
    upstreams.push(d);
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 4, 10_000, 'fourth instance');
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await request(`${gateway.url}/prices/AAPL?cc=no-store`);
      seen.add(((await res.body.json()) as { instance: string }).instance);
    }
    expect(seen).toEqual(new Set(['a', 'b', 'c', 'd']));
  });
});
