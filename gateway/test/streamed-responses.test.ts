import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { RunningGateway } from './support/gateway-server.js';
import { startRawUpstreamBehindGateway, type RawUpstreamBehindGateway } from './support/raw-upstream.js';
import { waitFor } from '@lizards/testkit';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const BIG_CHUNKS = 128; // 8 MiB

function answer(req: IncomingMessage, res: ServerResponse, closed: string[]): void {
  const path = req.url!.split('?')[0]!;
  req.on('close', () => closed.push(path));
  if (path === '/prices/big') {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(CHUNK.length * BIG_CHUNKS),
    });
    let sent = 0;
    const more = () => {
      while (sent < BIG_CHUNKS) {
        sent += 1;
        if (!res.write(CHUNK)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  } else if (path === '/prices/cut') {
    // Headers and part of the body, then the connection breaks.
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 20);
  } else if (path === '/prices/empty') {
    res.writeHead(204, { 'x-upstream': 'yes' });
    res.end();
  } else if (path === '/prices/slow') {
    // A chunk every 50 ms until the client goes away.
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('tick\n'), 50);
    res.on('close', () => clearInterval(timer));
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  }
}

describe('uncached responses streamed through the gateway', () => {
  let setup: RawUpstreamBehindGateway;
  let gateway: RunningGateway;
  const closed: string[] = [];
  const client = new Agent();
  const get = (path: string, headers: Record<string, string> = {}) =>
    request(`${gateway.url}${path}`, { headers, dispatcher: client });

  beforeAll(async () => {
    setup = await startRawUpstreamBehindGateway('streamer', (req, res) => answer(req, res, closed), {
      GATEWAY_ROUTES: JSON.stringify([{ path: '/prices/*', cacheable: false }]),
    });
    gateway = setup.gateway;
  });

  afterAll(async () => {
    // The client's connections first: one it opened after a cut response, with no request yet, keeps the gateway
    // from closing.
    await client.destroy();
    await setup?.close();
  });

  it(
    'when the body is large, then every byte arrives in ' + 'order, read slowly by the client (back-pressure)',
    async () => {
      const res = await get('/prices/big');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(CHUNK.length * BIG_CHUNKS));
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of res.body) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        if (bytes < 1 << 20) await new Promise((r) => setTimeout(r, 1));
      }
      const expected = createHash('sha256');
      for (let i = 0; i < BIG_CHUNKS; i++) expected.update(CHUNK);
      expect(bytes).toBe(CHUNK.length * BIG_CHUNKS);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
    },
  );

  it(
    'when the upstream answers 204, then the client gets 204 without Content-Type/Length, with the gateway ' +
      'headers',
    async () => {
      const res = await get('/prices/empty', { 'x-request-id': 'empty-1' });
      expect(res.statusCode).toBe(204);
      expect(res.headers['x-upstream']).toBe('yes');
      expect(res.headers['x-request-id']).toBe('empty-1');
      expect(res.headers['ratelimit-limit']).toBeDefined();
      expect(res.headers['content-type']).toBeUndefined();
      expect(res.headers['content-length']).toBeUndefined();
      expect(await res.body.text()).toBe('');
    },
  );

  it(
    'when the upstream connection breaks after the headers, then the client response is cut short and the ' +
      'gateway carries on',
    async () => {
      const res = await get('/prices/cut');
      expect(res.statusCode).toBe(200);
      await expect(res.body.text()).rejects.toThrow();
      const next = await get('/prices/ok');
      expect(next.statusCode).toBe(200);
      expect(await next.body.json()).toEqual({ ok: true });
    },
  );

  it('when the client goes away during the body, then the upstream request is aborted', async () => {
    const res = await get('/prices/slow');
    expect(res.statusCode).toBe(200);
    for await (const chunk of res.body) if ((chunk as Buffer).toString().includes('tick')) break;
    await waitFor(() => closed.includes('/prices/slow'), 10_000, 'the upstream request to close');
  });

  it('when traffic has passed, then streamed requests are counted by status and upstream', async () => {
    const metrics = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(
      new RegExp(
        String.raw`gateway_requests_total\{route="\/prices\/\*",method="GET",status="204",` +
          String.raw`upstream="127\.0\.0\.1:\d+",service="gateway"\} 1`,
      ),
    );
    expect(metrics).toMatch(
      new RegExp(
        String.raw`gateway_requests_total\{route="\/prices\/\*",method="GET",status="200",` +
          String.raw`upstream="127\.0\.0\.1:\d+",service="gateway"\} [1-9]`,
      ),
    );
  });
});
