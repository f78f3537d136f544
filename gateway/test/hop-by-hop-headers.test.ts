import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripHopByHop } from '../src/proxy/hop-by-hop.js';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { rawRequest } from './support/raw-http.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

const HOP_REQUEST_HEADERS = [
  'Connection: keep-alive, X-Custom-Hop',
  'X-Custom-Hop: secret',
  'Keep-Alive: timeout=5',
  'TE: trailers',
  'Trailer: X-Checksum',
  'Proxy-Authorization: Basic Zm9vOmJhcg==',
  'Proxy-Connection: keep-alive',
  'X-End-To-End: kept',
];

describe('stripHopByHop', () => {
  it('when headers are named in Connection or are hop-by-hop, then they are removed and the rest kept', () => {
    expect(
      stripHopByHop({
        connection: 'close, X-Foo',
        'x-foo': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        trailer: 'x',
        upgrade: 'websocket',
        'proxy-authorization': 'x',
        'proxy-authenticate': 'x',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
      }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });
});

describe('headers across the gateway', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateway: RunningGateway;
  let trusting: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
    gateway = await startGateway({ REGISTRY_URL: registry.url });
    trusting = await startGateway({ REGISTRY_URL: registry.url, TRUST_PROXY: '127.0.0.1' });
    for (const g of [gateway, trusting])
      await waitFor(() => g.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
  });

  afterAll(async () => {
    await gateway?.close();
    await trusting?.close();
    await upstream?.stop();
    await registry?.close();
  });

  const upstreamSaw = async (
    g: RunningGateway,
    extra: string[] = [],
    method = 'GET',
    path = '/prices/AAPL?cc=no-store',
  ) => {
    const res = await rawRequest(
      g.port,
      [`${method} ${path} HTTP/1.1`, 'Host: public.example:8080', 'Connection: close', ...extra].join('\r\n'),
    );
    expect(res.status).toBe(200);
    return { res, seen: JSON.parse(res.body) as { headers: Record<string, string> } };
  };

  it('when the client sends hop-by-hop headers, then none reaches the upstream; end-to-end ones do', async () => {
    const { seen } = await upstreamSaw(gateway, [...HOP_REQUEST_HEADERS, 'X-Api-Note: hi']);
    for (const name of ['x-custom-hop', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection'])
      expect(seen.headers).not.toHaveProperty(name);
    expect(seen.headers['x-end-to-end']).toBe('kept');
    expect(seen.headers['x-api-note']).toBe('hi');
    expect(seen.headers.host).toBe(upstream.address);
  });

  it('when Connection names a header, then that header is dropped too', async () => {
    const { seen } = await upstreamSaw(gateway, ['X-Custom-Hop: secret', 'Connection: X-Custom-Hop']);
    expect(seen.headers).not.toHaveProperty('x-custom-hop');
  });

  it('when a body is posted, then it reaches the upstream unchanged with its content type', async () => {
    const body = '{"hello":"world"}';
    const res = await rawRequest(
      gateway.port,
      'POST /session HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      method: 'POST',
      body: { hello: 'world' },
      headers: { 'content-type': 'application/json' },
    });
  });

  it(
    'when the upstream answers with hop-by-hop headers, then the client gets none of them (uncached and from ' +
      'the cache)',
    async () => {
      for (const [path, xCache] of [
        ['/prices/HOP?hop=1&cc=no-store', 'MISS'],
        ['/prices/HOPC?hop=1', 'MISS'],
        ['/prices/HOPC?hop=1', 'HIT'],
      ] as const) {
        const res = await rawRequest(gateway.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close`);
        expect(res.status).toBe(200);
        expect(res.headers['x-cache']).toBe(xCache);
        for (const name of ['x-secret-hop', 'proxy-authenticate', 'keep-alive'])
          expect(res.headers).not.toHaveProperty(name);
        expect(res.headers.connection).toBe('close');
        expect(res.headers['x-end-to-end']).toBe('kept');
      }
    },
  );

  it(
    'when the client is direct, then X-Forwarded-For/-Proto/-Host are set from the connection and its spoofed ' +
      'ones ignored',
    async () => {
      const { seen } = await upstreamSaw(gateway, [
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Proto: https',
        'X-Forwarded-Host: evil.example',
      ]);
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen.headers['x-forwarded-proto']).toBe('http');
      expect(seen.headers['x-forwarded-host']).toBe('public.example:8080');
    },
  );

  it('when the peer is a trusted proxy (TRUST_PROXY), then the X-Forwarded-* chain from it is extended', async () => {
    const { seen } = await upstreamSaw(trusting, [
      'X-Forwarded-For: 203.0.113.7',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: prices.example',
    ]);
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-host']).toBe('prices.example');
  });

  it(
    'when the client forged entries left of the one the ' + 'trusted proxy added, then they are not passed on',
    async () => {
      const { seen } = await upstreamSaw(trusting, ['X-Forwarded-For: 6.6.6.6, 7.7.7.7, 203.0.113.7']);
      expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    },
  );

  it(
    'when the client sends X-Request-Id, then the upstream and the response carry it; otherwise one is ' + 'generated',
    async () => {
      const given = await upstreamSaw(gateway, ['X-Request-Id: req-abc.123']);
      expect(given.seen.headers['x-request-id']).toBe('req-abc.123');
      expect(given.res.headers['x-request-id']).toBe('req-abc.123');

      const generated = await upstreamSaw(gateway, ['X-Request-Id: not valid!']);
      const id = generated.res.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(generated.seen.headers['x-request-id']).toBe(id);
    },
  );
});
