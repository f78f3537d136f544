import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

interface Frame {
  binary: boolean;
  text: string;
}

/** A client socket that records every frame it receives and how it closed. */
class Client {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly socket: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data: Buffer, binary) =>
      this.frames.push({ binary, text: binary ? data.toString('hex') : data.toString() }),
    );
    this.socket.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  async next(count: number): Promise<Frame[]> {
    await waitFor(() => this.frames.length >= count, 5000, `${count} frames`);
    return this.frames.slice(0, count);
  }

  async closedWith(): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closed, 5000, 'close');
  }
}

/** The same conversation, run against a base URL: every frame received, in order. */
async function converse(base: string): Promise<Frame[]> {
  const client = new Client(`${base}/ws?token=good`, { origin: 'http://dashboard.example' });
  await client.opened;
  await client.next(1);
  client.socket.send(JSON.stringify({ type: 'subscribe', symbols: ['AAPL', 'TSLA', 'XYZ'] }));
  await client.next(4);
  client.socket.send(JSON.stringify({ type: 'unsubscribe', symbols: ['AAPL'] }));
  await client.next(5);
  client.socket.send(Buffer.from([1, 2, 3, 254]), { binary: true });
  const frames = await client.next(6);
  client.socket.close(1000, 'done');
  await client.closedWith();
  return frames;
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return Number(line?.split(' ').pop());
}

describe('WebSocket /ws through the gateway', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateway: RunningGateway;
  let wsBase: string;

  beforeAll(async () => {
    registry = await startRegistry({ leaseTtlMs: 1500 });
    upstream = await startUpstream({ id: 'p1', registryUrl: registry.url });
    gateway = await startGateway({ REGISTRY_URL: registry.url });
    wsBase = gateway.url.replace('http', 'ws');
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.stop().catch(() => undefined);
    await registry?.close();
  });

  it(
    'when subscribe / unsubscribe / a binary frame are sent, then the frames are exactly those of a direct ' +
      'connection',
    async () => {
      const direct = await converse(`ws://${upstream.address}`);
      const proxied = await converse(wsBase);
      // The greeting tells what the provider saw of the client: the gateway adds X-Forwarded-For.
      expect(JSON.parse(proxied[0]!.text)).toMatchObject({
        type: 'hello',
        origin: 'http://dashboard.example',
        forwardedFor: '127.0.0.1',
      });
      expect(proxied.slice(1)).toEqual(direct.slice(1));
      expect(proxied.slice(1).map((f) => (f.binary ? 'binary' : JSON.parse(f.text).type))).toEqual([
        'error',
        'subscribed',
        'price_update',
        'unsubscribed',
        'binary',
      ]);
      expect(JSON.parse(proxied[3]!.text)).toEqual({
        type: 'price_update',
        data: {
          AAPL: { price: 150.23, timestamp: '2024-09-14T12:34:56Z' },
          TSLA: { price: 251.1, timestamp: '2024-09-14T12:34:56Z' },
        },
        cursor: '42',
      });
      expect(proxied[5]).toEqual({ binary: true, text: '010203fe' });
    },
  );

  it('when the client closes, then the upstream socket is closed with the same code and reason', async () => {
    const client = new Client(`${wsBase}/ws?token=good`);
    await client.opened;
    await client.next(1);
    const metrics = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
    expect(metricValue(metrics, 'gateway_ws_connections')).toBe(1);
    const before = upstream.wsCloses.length;
    client.socket.close(4001, 'client bye');
    await waitFor(() => upstream.wsCloses.length > before, 10_000, 'upstream close');
    expect(upstream.wsCloses.at(-1)).toEqual({ code: 4001, reason: 'client bye' });
    await waitFor(
      async () =>
        metricValue(await (await request(`${gateway.adminUrl}/metrics`)).body.text(), 'gateway_ws_connections') === 0,
      10_000,
      'gauge back to 0',
    );
  });

  it('when the upstream closes, then the client socket is closed with the same code and reason', async () => {
    const client = new Client(`${wsBase}/ws?token=good`);
    await client.opened;
    await client.next(1);
    client.socket.send(JSON.stringify({ type: 'close', code: 4002, reason: 'server bye' }));
    expect(await client.closedWith()).toEqual({ code: 4002, reason: 'server bye' });
  });

  it(
    'when a client frame is larger than WS_MAX_PAYLOAD, then the gateway closes the client with 1009, the ' +
      'upstream socket is closed, and new sockets still work',
    async () => {
      for (let i = 0; i < 5; i++) {
        const client = new Client(`${wsBase}/ws?token=good`);
        await client.opened;
        await client.next(1);
        const before = upstream.wsCloses.length;
        client.socket.send('x'.repeat(65_537 + i * 50_000));
        expect((await client.closedWith()).code).toBe(1009);
        await waitFor(() => upstream.wsCloses.length > before, 10_000, 'upstream close');
      }
      const client = new Client(`${wsBase}/ws?token=good`);
      await client.opened;
      expect(JSON.parse((await client.next(1))[0]!.text)).toMatchObject({ type: 'hello' });
      client.socket.close(1000);
    },
  );

  it('when the provider instance registered an IPv6 address, then the socket is proxied to it', async () => {
    const registry6 = await startRegistry({ leaseTtlMs: 1500 });
    const upstream6 = await startUpstream({ id: 'p6', registryUrl: registry6.url, host: '::1' });
    const gateway6 = await startGateway({ REGISTRY_URL: registry6.url });
    try {
      await waitFor(
        () => gateway6.app.gateway.directory.instances('provider').length === 1,
        10_000,
        'the IPv6 instance',
      );
      const client = new Client(`${gateway6.url.replace('http', 'ws')}/ws?token=good`);
      await client.opened;
      expect(JSON.parse((await client.next(1))[0]!.text)).toMatchObject({ type: 'hello' });
      client.socket.close(1000);
    } finally {
      await gateway6.close();
      await upstream6.stop().catch(() => undefined);
      await registry6.close();
    }
  });

  it('when the session token is refused, then the client gets the same HTTP answer as directly (401)', async () => {
    const status = (url: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          ws.terminate();
        });
        ws.once('open', () => resolve(101));
        ws.once('error', () => undefined);
      });
    expect(await status(`ws://${upstream.address}/ws?token=bad`)).toBe(401);
    expect(await status(`${wsBase}/ws?token=bad`)).toBe(401);
  });

  it('when /ws is requested without an upgrade, then 426', async () => {
    const res = await request(`${gateway.url}/ws`);
    expect(res.statusCode).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
    expect(await res.body.json()).toMatchObject({
      statusCode: 426,
      error: 'Upgrade Required',
      code: 'LZ_ERR_GATEWAY_UPGRADE_REQUIRED',
    });
  });

  it('when the provider instance dies, then the client socket is closed with 1012 so it reconnects', async () => {
    const client = new Client(`${wsBase}/ws?token=good`);
    await client.opened;
    await client.next(1);
    await upstream.kill();
    expect((await client.closedWith()).code).toBe(1012);
  });

  it('when no provider instance is live, then the upgrade is answered 503 with Retry-After', async () => {
    await waitFor(
      () => gateway.app.gateway.balancer.pick('provider').upstream === undefined,
      10_000,
      'no usable instance',
    );
    const answer = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
      const ws = new WebSocket(`${wsBase}/ws?token=good`);
      ws.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
        res.resume();
        ws.terminate();
      });
      ws.once('error', () => undefined);
    });
    expect(answer.status).toBe(503);
    expect(Number(answer.retryAfter)).toBeGreaterThan(0);
  });
});
