import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRegistryApp } from '../src/app.js';

const TOKEN = 'test-registry-token';
let base: string;
let adminBase: string;
let close: () => Promise<void>;

async function call(method: string, path: string, body?: string | object, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

const valid = { name: 'provider-1', ip_address: '127.0.0.1', port_number: '8081', protocol: 'http' };
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

beforeAll(async () => {
  const app = buildRegistryApp({ leaseTtlMs: 400, evictionIntervalMs: 25, token: TOKEN, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.admin.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  adminBase = `http://127.0.0.1:${(app.admin.server.address() as AddressInfo).port}`;
  close = () => app.close();
});
afterAll(() => close());

describe('POST /services/:service-id', () => {
  it('when the body is valid, then 200 with the instance and its instance_id', async () => {
    const res = await call('POST', '/services/contract-a', valid);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: 'provider-1',
      ip_address: '127.0.0.1',
      port_number: '8081',
      protocol: 'http',
      service_id: 'contract-a',
    });
    expect(res.json.instance_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json.registered_at).toMatch(ISO_UTC);
  });

  it(
    'when the same address registers again, then the same ' + 'instance_id comes back and the lease is refreshed',
    async () => {
      const first = await call('POST', '/services/contract-b', valid);
      await new Promise((r) => setTimeout(r, 5));
      const second = await call('POST', '/services/contract-b', { ...valid, port_number: 8081 });
      expect(second.status).toBe(200);
      expect(second.json.instance_id).toBe(first.json.instance_id);
      expect(Date.parse(second.json.lease_expires_at)).toBeGreaterThan(Date.parse(first.json.lease_expires_at));
      const list = await call('GET', '/services/contract-b');
      expect(list.json.instance_count).toBe(1);
    },
  );

  it.each([
    ['name', { ip_address: '10.0.0.1', port_number: 80, protocol: 'http' }],
    ['ip_address', { name: 'x', port_number: 80, protocol: 'http' }],
    ['port_number', { name: 'x', ip_address: '10.0.0.1', protocol: 'http' }],
    ['protocol', { name: 'x', ip_address: '10.0.0.1', port_number: 80 }],
  ])('when %s is missing, then 400 naming it', async (field, body) => {
    const res = await call('POST', '/services/contract-c', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'Bad Request', field });
    expect(res.json.message).toContain(field);
  });

  it.each([
    ['name', ''],
    ['name', 42],
    ['name', 'x'.repeat(129)],
    ['ip_address', 'not an address!'],
    ['ip_address', 12345],
    ['ip_address', '999.1.1.1.1'],
    ['port_number', 0],
    ['port_number', 65536],
    ['port_number', '70000'],
    ['port_number', 'http'],
    ['port_number', true],
    ['port_number', 80.5],
    ['protocol', 'smtp'],
    ['protocol', 'http '],
    ['protocol', 'httpx'],
    ['protocol', ['http']],
  ])('when %s is %j, then 400 naming it', async (field, value) => {
    const res = await call('POST', '/services/contract-c', { ...valid, [field]: value });
    expect(res.status).toBe(400);
    expect(res.json.field).toBe(field);
    expect(res.json.message).toContain(field);
  });

  it.each([
    ['ip_address', '::1', '::1'],
    ['ip_address', '2001:db8::8a2e:370:7334', '2001:db8::8a2e:370:7334'],
    ['ip_address', 'provider-2.lizards.internal', 'provider-2.lizards.internal'],
    ['protocol', 'HTTP', 'http'],
    ['protocol', 'Https', 'https'],
    ['protocol', 'WS', 'ws'],
    ['protocol', 'wsS', 'wss'],
    ['protocol', 'grpc', 'gRPC'],
    ['protocol', 'GRPC', 'gRPC'],
  ])('when %s is %j, then it is accepted and kept as %j', async (field, given, kept) => {
    const res = await call('POST', `/services/contract-d-${field.replace('_', '-')}`, { ...valid, [field]: given });
    expect(res.status).toBe(200);
    expect(res.json[field]).toBe(kept);
  });

  it(
    'when the seed\'s own example is posted (protocol "TCP", port as a string), then 200 with the protocol ' +
      'kept as tcp',
    async () => {
      const res = await call('POST', '/services/svc', {
        name: 'Service A',
        ip_address: '10.0.0.7',
        port_number: '8042',
        protocol: 'TCP',
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        service_id: 'svc',
        name: 'Service A',
        ip_address: '10.0.0.7',
        port_number: '8042',
        protocol: 'tcp',
      });
    },
  );

  it('when the same address registers with the protocol spelled otherwise, then it is the same instance', async () => {
    const first = await call('POST', '/services/contract-protocol-same', { ...valid, protocol: 'http' });
    const second = await call('POST', '/services/contract-protocol-same', { ...valid, protocol: 'HTTP' });
    expect(second.json.instance_id).toBe(first.json.instance_id);
    expect((await call('GET', '/services/contract-protocol-same')).json.instance_count).toBe(1);
  });

  it('when the body is not JSON, then 400 naming the body', async () => {
    const res = await call('POST', '/services/contract-c', '{"name": oops');
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('body');
  });

  it('when the body is empty or not an object, then 400 naming the body', async () => {
    for (const body of ['', '[]', '"text"', 'null']) {
      const res = await call('POST', '/services/contract-c', body);
      expect(res.status, body).toBe(400);
      expect(res.json.field, body).toBe('body');
    }
  });

  it('when the body is larger than the limit, then 413 naming the body', async () => {
    const res = await call('POST', '/services/contract-c', { ...valid, name: 'x'.repeat(20_000) });
    expect(res.status).toBe(413);
    expect(res.json.field).toBe('body');
  });

  it('when the service id is malformed, then 400 naming it', async () => {
    const res = await call('POST', '/services/Bad%20Id', valid);
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('serviceId');
  });

  it('when unknown fields are sent, then they are ignored', async () => {
    const res = await call('POST', '/services/contract-e', { ...valid, color: 'green' });
    expect(res.status).toBe(200);
    expect(res.json.color).toBeUndefined();
  });

  it('when no token or a wrong token is sent, then 401 and nothing is registered', async () => {
    const none = await call('POST', '/services/contract-auth', valid, { authorization: '' });
    const wrong = await call('POST', '/services/contract-auth', valid, { authorization: 'Bearer nope' });
    expect(none.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('Bearer');
    expect((await call('GET', '/services/contract-auth', undefined, { authorization: '' })).status).toBe(404);
  });
});

describe('GET /services/:service-id', () => {
  it('when a service has instances, then the contract shape with port_number as a string', async () => {
    await call('POST', '/services/contract-f', valid);
    await call('POST', '/services/contract-f', { ...valid, port_number: 8082 });
    const res = await call('GET', '/services/contract-f', undefined, { authorization: '' });
    expect(res.status).toBe(200);
    expect(res.json.service_name).toBe('contract-f');
    expect(res.json.instance_count).toBe(2);
    expect(res.json.registered_at).toMatch(ISO_UTC);
    expect(res.json.instances.map((i: { port_number: unknown }) => i.port_number).sort()).toEqual(['8081', '8082']);
  });

  it('when the service is unknown, then 404 with a JSON error', async () => {
    const res = await call('GET', '/services/never-registered');
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('Not Found');
  });
});

describe('GET /services', () => {
  it('when services are registered, then each is listed with its count', async () => {
    await call('POST', '/services/contract-g', valid);
    const res = await call('GET', '/services');
    expect(res.status).toBe(200);
    expect(res.json.services).toContainEqual(
      expect.objectContaining({ service_name: 'contract-g', instance_count: 1 }),
    );
  });
});

describe('DELETE /services/:service-id/:instance-id', () => {
  it('when the instance exists, then 204 and it is no longer listed', async () => {
    const a = await call('POST', '/services/contract-h', valid);
    const b = await call('POST', '/services/contract-h', { ...valid, port_number: 9000 });
    const del = await call('DELETE', `/services/contract-h/${a.json.instance_id}`);
    expect(del.status).toBe(204);
    const list = await call('GET', '/services/contract-h');
    expect(list.json.instances.map((i: { instance_id: string }) => i.instance_id)).toEqual([b.json.instance_id]);
  });

  it('when the instance is unknown, then 404', async () => {
    const res = await call('DELETE', '/services/contract-h/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('Not Found');
  });

  it('when no token is sent, then 401 and the instance stays', async () => {
    const a = await call('POST', '/services/contract-i', valid);
    const del = await call('DELETE', `/services/contract-i/${a.json.instance_id}`, undefined, { authorization: '' });
    expect(del.status).toBe(401);
    expect((await call('GET', '/services/contract-i')).json.instance_count).toBe(1);
  });
});

describe('leases', () => {
  it(
    'when an instance heartbeats, then it stays; when it falls silent, then it is evicted after its TTL and ' +
      'its heartbeat gets 404',
    async () => {
      const kept = await call('POST', '/services/contract-lease', valid);
      const silent = await call('POST', '/services/contract-lease', { ...valid, port_number: 9001 });
      const beat = setInterval(
        () => void call('PUT', `/services/contract-lease/${kept.json.instance_id}/heartbeat`),
        100,
      );
      try {
        await new Promise((r) => setTimeout(r, 900));
        const list = await call('GET', '/services/contract-lease');
        expect(list.json.instances.map((i: { instance_id: string }) => i.instance_id)).toEqual([kept.json.instance_id]);
      } finally {
        clearInterval(beat);
      }
      const hb = await call('PUT', `/services/contract-lease/${silent.json.instance_id}/heartbeat`);
      expect(hb.status).toBe(404);
      const metrics = await request(`${adminBase}/metrics`).then((r) => r.body.text());
      expect(metrics).toMatch(/registry_evictions_total\{service_id="contract-lease"[^}]*\} 1/);
    },
  );
});

describe('blocking queries', () => {
  it('when a watcher waits on an index, then it is answered as soon as membership changes', async () => {
    const first = await call('POST', '/services/contract-watch', valid);
    const index = Number((await call('GET', '/services/contract-watch')).headers['x-registry-index']);
    const started = Date.now();
    const watching = call('GET', `/services/contract-watch?index=${index}&wait=20s`);
    setTimeout(() => void call('POST', '/services/contract-watch', { ...valid, port_number: 9100 }), 100);
    const res = await watching;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.json.instance_count).toBe(2);
    expect(Number(res.headers['x-registry-index'])).toBeGreaterThan(index);
    expect(first.status).toBe(200);
  });

  it('when nothing changes, then the watcher is answered after the wait with the same index', async () => {
    await call('POST', '/services/contract-watch2', valid);
    const index = Number((await call('GET', '/services/contract-watch2')).headers['x-registry-index']);
    const res = await call('GET', `/services/contract-watch2?index=${index}&wait=200ms`);
    expect(res.status).toBe(200);
    expect(Number(res.headers['x-registry-index'])).toBe(index);
  });
});

describe('GET /sd/prometheus', () => {
  it(
    'when instances are registered, then it lists HTTP targets in Prometheus HTTP SD format, labelled with ' +
      'their service',
    async () => {
      await call('POST', '/services/contract-sd', valid);
      await call('POST', '/services/contract-sd-grpc', { ...valid, protocol: 'gRPC', port_number: 50051 });
      const res = await call('GET', '/sd/prometheus');
      expect(res.status).toBe(200);
      expect(Array.isArray(res.json)).toBe(true);
      for (const group of res.json) {
        expect(Object.keys(group).sort()).toEqual(['labels', 'targets']);
        expect(group.targets.every((t: unknown) => typeof t === 'string' && /^[^\s]+:\d+$/.test(t))).toBe(true);
        expect(Object.values(group.labels).every((v) => typeof v === 'string')).toBe(true);
        expect(Object.keys(group.labels).every((k) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k))).toBe(true);
      }
      const sd = res.json.find((g: { labels: { service: string } }) => g.labels.service === 'contract-sd');
      expect(sd.targets).toEqual(['127.0.0.1:8081']);
      expect(res.json.some((g: { labels: { service: string } }) => g.labels.service === 'contract-sd-grpc')).toBe(
        false,
      );
      expect(res.json.some((g: { labels: { service: string } }) => g.labels.service === 'registry')).toBe(true);
    },
  );

  it('when an instance registered its protocol as "HTTP", then it is listed as an http target', async () => {
    await call('POST', '/services/contract-sd-upper', { ...valid, protocol: 'HTTP', port_number: 8181 });
    const res = await call('GET', '/sd/prometheus');
    const group = res.json.find((g: { labels: { service: string } }) => g.labels.service === 'contract-sd-upper');
    expect(group).toMatchObject({ targets: ['127.0.0.1:8181'], labels: { __scheme__: 'http' } });
  });
});

describe('robustness', () => {
  it('when unknown routes and methods are called, then JSON 404s and the registry keeps serving', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('PATCH', '/services/x')).status).toBe(404);
    expect((await call('GET', '/health')).json).toEqual({ status: 'ok' });
  });
});
