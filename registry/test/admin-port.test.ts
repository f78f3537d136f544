import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRegistryApp } from '../src/app.js';

let app: ReturnType<typeof buildRegistryApp>;
let base: string;

const register = async (service: string, body: object) => {
  const res = await fetch(`${base}/services/${service}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};
const sd = async () =>
  (await (await fetch(`${base}/sd/prometheus`)).json()) as { targets: string[]; labels: Record<string, string> }[];

beforeAll(async () => {
  app = buildRegistryApp({ leaseTtlMs: 60_000, evictionIntervalMs: 1000, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.admin.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

describe('admin_port in registrations', () => {
  it(
    'when an instance registers with admin_port (number or ' + 'numeric string), then its view shows it as a string',
    async () => {
      const a = await register('admin-a', {
        name: 'a-1',
        ip_address: '10.0.0.5',
        port_number: 3000,
        protocol: 'http',
        admin_port: 9464,
      });
      const b = await register('admin-a', {
        name: 'a-2',
        ip_address: '10.0.0.6',
        port_number: 3000,
        protocol: 'http',
        admin_port: '9465',
      });
      expect(a).toMatchObject({ status: 200, json: { port_number: '3000', admin_port: '9464' } });
      expect(b).toMatchObject({ status: 200, json: { admin_port: '9465' } });
      const view = (await (await fetch(`${base}/services/admin-a`)).json()) as { instances: Record<string, string>[] };
      expect(view.instances.map((i) => i.admin_port).sort()).toEqual(['9464', '9465']);
    },
  );

  it('when an instance registers without admin_port, then its view has none', async () => {
    const res = await register('admin-b', { name: 'b-1', ip_address: '10.0.0.7', port_number: 3000, protocol: 'http' });
    expect(res.status).toBe(200);
    expect(res.json).not.toHaveProperty('admin_port');
  });

  it.each([0, 70_000, 'abc', true])('when admin_port is %s, then 400 naming it', async (admin_port) => {
    const res = await register('admin-c', {
      name: 'c-1',
      ip_address: '10.0.0.8',
      port_number: 3000,
      protocol: 'http',
      admin_port,
    });
    expect(res).toMatchObject({ status: 400, json: { field: 'admin_port' } });
  });

  it(
    'when the same address registers again with another admin port (a restart), then the instance keeps its id ' +
      'and shows the new port',
    async () => {
      const first = await register('admin-d', {
        name: 'd-1',
        ip_address: '10.0.0.9',
        port_number: 3000,
        protocol: 'http',
        admin_port: 9464,
      });
      const again = await register('admin-d', {
        name: 'd-1',
        ip_address: '10.0.0.9',
        port_number: 3000,
        protocol: 'http',
        admin_port: 9470,
      });
      expect(again.json).toMatchObject({ instance_id: first.json.instance_id, admin_port: '9470' });
    },
  );
});

describe('GET /sd/prometheus', () => {
  it(
    'when an instance has an admin port, then its scrape target ' + 'is its admin address; without one, its own port',
    async () => {
      const groups = await sd();
      const target = (name: string) => groups.find((g) => g.labels.instance_name === name)?.targets;
      expect(target('a-1')).toEqual(['10.0.0.5:9464']);
      expect(target('a-2')).toEqual(['10.0.0.6:9465']);
      expect(target('d-1')).toEqual(['10.0.0.9:9470']);
      expect(target('b-1')).toEqual(['10.0.0.7:3000']);
      for (const g of groups) expect(g.labels).toMatchObject({ __scheme__: 'http', __metrics_path__: '/metrics' });
    },
  );

  it('when the registry lists itself, then the target is its own admin listener', async () => {
    const self = (await sd()).find((g) => g.labels.service === 'registry');
    expect(self?.targets).toEqual([`127.0.0.1:${(app.admin.server.address() as AddressInfo).port}`]);
  });
});
