import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeRequestTarget } from '../src/routes/path-safety.js';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { rawRequest } from './support/raw-http.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

describe('normalizeRequestTarget', () => {
  it('when the path is clean, then it is kept (duplicate slashes collapsed) with its raw query', () => {
    expect(normalizeRequestTarget('/prices/AAPL?from=1&x=%2F')).toEqual({
      path: '/prices/AAPL',
      query: 'from=1&x=%2F',
    });
    expect(normalizeRequestTarget('/prices//AAPL/')).toEqual({ path: '/prices/AAPL/', query: '' });
    expect(normalizeRequestTarget('/prices/BRK%20B')).toEqual({ path: '/prices/BRK%20B', query: '' });
  });

  it.each([
    '/prices/../admin',
    '/prices/./AAPL',
    '/prices/%2e%2e/admin',
    '/prices/%2E%2E%2Fadmin',
    '/prices/..%2fadmin',
    '/prices/%252e%252e/admin',
    '/prices/..%5cadmin',
    '/prices/..\\admin',
    '/prices/%00',
    '/prices/%E0%A4%A',
    'http://127.0.0.1:1/admin',
    '*',
  ])('when the target is %s, then it is refused', (target) => {
    expect(() => normalizeRequestTarget(target)).toThrow(
      expect.objectContaining({ code: 'LZ_ERR_GATEWAY_UNSAFE_PATH', statusCode: 400 }),
    );
  });
});

describe('requests that must not reach anything but their route', () => {
  let registry: RunningRegistry;
  let provider: UpstreamDouble;
  let ingestion: UpstreamDouble;
  let gateway: RunningGateway;
  const adminHits = () => (provider.hits.get('/admin') ?? 0) + (ingestion.hits.get('/admin') ?? 0);

  beforeAll(async () => {
    registry = await startRegistry();
    provider = await startUpstream({ id: 'prov', registryUrl: registry.url });
    ingestion = await startUpstream({ id: 'ingest', registryUrl: registry.url, serviceId: 'ingestion' });
    gateway = await startGateway({ REGISTRY_URL: registry.url });
    await waitFor(
      () =>
        gateway.app.gateway.directory.instances('provider').length === 1 &&
        gateway.app.gateway.directory.instances('ingestion').length === 1,
      10_000,
      'both services',
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await provider?.stop();
    await ingestion?.stop();
    await registry?.close();
  });

  it.each([
    ['/prices/../admin', 400],
    ['/prices/%2e%2e/admin', 400],
    ['/prices/%2E%2E%2Fadmin', 400],
    ['/prices/..%2fadmin', 400],
    ['/prices/%252e%252e%252fadmin', 400],
    ['/prices/..\\admin', 400],
    ['/sources/../admin', 404], // no prefix route: not even matched
    ['/admin', 404],
    ['//admin', 404],
    ['/prices', 404],
    ['/services/provider', 404],
  ])('when GET %s is sent, then %i and no upstream sees it', async (target, status) => {
    const res = await rawRequest(gateway.port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close`);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body)).toMatchObject({ error: status === 400 ? 'Bad Request' : 'Not Found' });
    expect(adminHits()).toBe(0);
  });

  it('when the request target is in absolute form naming another host, then it is not proxied there', async () => {
    const res = await rawRequest(
      gateway.port,
      `GET http://${ingestion.address}/admin HTTP/1.1\r\nHost: ${ingestion.address}\r\nConnection: close`,
    );
    expect([400, 404]).toContain(res.status);
    expect(adminHits()).toBe(0);
  });

  it('when the Host header names another upstream, then the route still decides where the request goes', async () => {
    const before = ingestion.totalHits();
    const res = await rawRequest(
      gateway.port,
      `GET /prices/AAPL?cc=no-store HTTP/1.1\r\nHost: ${ingestion.address}\r\n` +
        `X-Forwarded-Host: ${ingestion.address}\r\nConnection: close`,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ instance: 'prov', url: '/prices/AAPL?cc=no-store' });
    expect(ingestion.totalHits()).toBe(before);
  });

  it('when a method is not in the route table, then 404', async () => {
    const res = await rawRequest(gateway.port, 'DELETE /prices/AAPL HTTP/1.1\r\nHost: localhost\r\nConnection: close');
    expect(res.status).toBe(404);
    expect(provider.hits.get('/prices/AAPL') ?? 0).toBeLessThanOrEqual(1);
  });

  it('when the path has duplicate slashes, then the upstream gets the normalised path', async () => {
    const res = await rawRequest(
      gateway.port,
      'GET /prices//MSFT?cc=no-store HTTP/1.1\r\nHost: localhost\r\nConnection: close',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ url: '/prices/MSFT?cc=no-store' });
  });
});
