import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';

const get = async (url: string) => {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
};

describe('the gateway admin endpoints', () => {
  let registry: RunningRegistry;
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry();
    gateway = await startGateway({ REGISTRY_URL: registry.url });
  });
  afterAll(async () => {
    await gateway?.close();
    await registry?.close();
  });

  it.each(['/ready', '/metrics', '/metrics?x=1', '/READY'])(
    'when %s is asked on the public port, then 404 like any unknown path, telling nothing',
    async (path) => {
      const res = await get(`${gateway.url}${path}`);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'Not Found', code: 'LZ_ERR_GATEWAY_NO_ROUTE' });
      expect(res.body).not.toMatch(/registry|breaker|upstream|redis/i);
    },
  );

  it('when /health is asked on the public port, then it still answers 200', async () => {
    expect(await get(`${gateway.url}/health`)).toEqual({ status: 200, body: '{"status":"ok"}' });
  });

  it(
    'when /ready and /metrics are asked on the admin port, then they answer with the registry check and the ' +
      'gateway series',
    async () => {
      const ready = await get(`${gateway.adminUrl}/ready`);
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', checks: { registry: 'ok' } });
      const metrics = await get(`${gateway.adminUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('gateway_upstream_instances');
    },
  );
});
