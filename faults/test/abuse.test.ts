import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { Fuzzer } from '../src/fuzz.js';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import type { ServiceProcess } from '../src/service-process.js';
import { SYMBOLS, Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

const SEED = 20261125;
const MEMORY_BOUND = 200 * 1024 * 1024;
const SERVER_TYPES = new Set(['error', 'subscribed', 'unsubscribed', 'price_update', 'stored', 'stale', 'reconnect']);

interface Target {
  base: () => string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: (f: Fuzzer) => string;
  template: Record<string, unknown>;
  auth?: boolean;
}

const registration = { name: 'fuzz', ip_address: '127.0.0.1', port_number: '1', protocol: 'HTTP' };
/** A fuzzed path segment or query value: every UTF-8 byte percent-encoded, sometimes a malformed escape. */
const enc = (f: Fuzzer) =>
  [...Buffer.from(f.string(12), 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('') +
  f.pick(['', '', '', '%', '%zz', '%c3']);

// Scenario 7: abuse of every entry point of the real processes; only 4xx, error messages and policy closes.
describe('abuse: fuzzed input and floods', () => {
  let stack: Stack;
  let rssBefore: Record<string, number> = {};

  beforeAll(async () => {
    stack = await Stack.start({ providers: 1, logLevel: 'warn' });
    await stack.connectClient();
    rssBefore = Object.fromEntries(stack.all.map((p) => [p.name, p.rss()]));
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when every HTTP route gets fuzzed bodies, paths and queries, then every answer is below 500', async () => {
    const f = new Fuzzer(SEED);
    const gw = () => stack.gateway.url;
    const pv = () => stack.providers[0]!.url;
    const publicRoutes = (base: () => string): Target[] => [
      { base, method: 'POST', path: () => '/session', template: {} },
      { base, method: 'GET', path: (z) => `/sources?${enc(z)}=${enc(z)}`, template: {} },
      { base, method: 'GET', path: (z) => `/symbols?x=${enc(z)}`, template: {} },
      { base, method: 'GET', path: (z) => `/prices/${enc(z)}`, template: {} },
      {
        base,
        method: 'GET',
        path: (z) => `/prices/${z.pick(['AAPL', enc(z)])}/history?from=${enc(z)}&to=${enc(z)}&limit=${enc(z)}`,
        template: {},
      },
      {
        base,
        method: 'GET',
        path: (z) => `/prices/${z.pick(['AAPL', enc(z)])}/candles?interval=${enc(z)}&from=${enc(z)}`,
        template: {},
      },
      { base, method: 'POST', path: () => '/prices/AAPL', template: { price: 1 } },
    ];
    const targets: Target[] = [
      {
        base: () => stack.registry.url,
        method: 'POST',
        path: (z) => `/services/${z.pick(['fuzz', enc(z)])}`,
        template: registration,
        auth: true,
      },
      {
        base: () => stack.registry.url,
        method: 'PUT',
        path: (z) => `/services/fuzz/${enc(z)}/heartbeat`,
        template: {},
        auth: true,
      },
      {
        base: () => stack.registry.url,
        method: 'DELETE',
        path: (z) => `/services/fuzz/${enc(z)}`,
        template: {},
        auth: true,
      },
      {
        base: () => stack.registry.url,
        method: 'GET',
        path: (z) => `/services/${enc(z)}?index=${enc(z)}&wait=${enc(z)}`,
        template: {},
      },
      ...publicRoutes(gw),
      ...publicRoutes(pv),
      { base: () => stack.ingestion.url, method: 'GET', path: (z) => `/sources?${enc(z)}`, template: {} },
      { base: () => stack.ingestion.url, method: 'GET', path: (z) => `/sources/status?${enc(z)}`, template: {} },
      { base: () => stack.ingestion.url, method: 'POST', path: () => '/sources', template: { url: 'x' } },
    ];
    const serverErrors: string[] = [];
    for (const t of targets) {
      for (let i = 0; i < 12; i++) {
        const path = t.path(f);
        const body = t.method === 'GET' ? undefined : f.body(t.template);
        const contentType = f.pick([
          'application/json',
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          undefined,
        ]);
        const res = await request(`${t.base()}${path}`, {
          method: t.method,
          body,
          headers: {
            ...(contentType && body !== undefined ? { 'content-type': contentType } : {}),
            ...(t.auth ? { authorization: `Bearer ${stack.secrets.registryToken}` } : {}),
          },
        }).catch((err: Error) => err);
        if (res instanceof Error) {
          // A server may answer 413 and close before a huge body is sent in full; anything else is a failure.
          if ((body?.length ?? 0) <= 1024 * 1024) serverErrors.push(`${t.method} ${t.base()}${path} -> ${res.message}`);
          continue;
        }
        await res.body.dump();
        if (res.statusCode >= 500)
          serverErrors.push(
            `${t.method} ${t.base()}${path} ` +
              `(${contentType}, ${body?.length ?? 0} bytes: ${body?.slice(0, 80)}) -> ${res.statusCode}`,
          );
      }
    }
    expect(serverErrors).toEqual([]);
    expect(stack.all.every((p) => p.alive)).toBe(true);
  }, 120_000);

  it('when every WebSocket message type is fuzzed, then the server only answers error messages and closes with ' +
    '1008 (or 1009 for an oversized frame)', async () => {
    const f = new Fuzzer(SEED + 1);
    const templates = [
      { type: 'subscribe', symbols: ['AAPL'], since: '1' },
      { type: 'unsubscribe', symbols: ['AAPL'] },
      { type: f.string(10), symbols: [] },
    ];
    const problems: string[] = [];
    const targets = [
      { via: 'provider', base: () => stack.providers[0]!.url },
      { via: 'gateway', base: () => stack.gateway.url },
    ];
    for (const target of targets) {
      for (let c = 0; c < 10; c++) {
        const session = await request(`${target.base()}/session`, { method: 'POST' });
        const { websocket_url } = (await session.body.json()) as { websocket_url: string };
        const socket = new WebSocket(websocket_url);
        await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
        socket.on('error', () => undefined);
        socket.on('message', (raw: Buffer, binary: boolean) => {
          try {
            const msg = JSON.parse(raw.toString()) as { type?: string };
            if (binary || !SERVER_TYPES.has(msg.type ?? ''))
              problems.push(`${target.via}: unexpected message ${raw.toString().slice(0, 100)}`);
          } catch {
            problems.push(`${target.via}: non-JSON message ${raw.toString().slice(0, 100)}`);
          }
        });
        const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
        for (let i = 0; i < 10 && socket.readyState === WebSocket.OPEN; i++) {
          const kind = f.int(10);
          if (kind === 0) socket.send(Buffer.from(f.string(50)), { binary: true });
          else if (kind === 1) socket.send('x'.repeat(70_000 + f.int(100_000)));
          else socket.send(f.body(f.pick(templates)).slice(0, 60_000));
          await new Promise((r) => setTimeout(r, 10));
        }
        await new Promise((r) => setTimeout(r, 100));
        if (socket.readyState === WebSocket.OPEN) socket.close(1000);
        const code = await closed;
        if (![1000, 1005, 1008, 1009].includes(code)) problems.push(`${target.via}: close code ${code}`);
      }
    }
    expect(problems).toEqual([]);
    expect(stack.all.every((p) => p.alive)).toBe(true);
  }, 120_000);

  it('when ProcessData gets malformed content or bytes, then every call ends with INVALID_ARGUMENT or ' +
    'RESOURCE_EXHAUSTED and nothing is stored', async () => {
    const f = new Fuzzer(SEED + 2);
    const tick = { symbol: 'AAPL', price: 1.5, timestamp: new Date().toISOString(), source: 'grpc', volume: 1 };
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const content =
        i % 5 === 0 ? `symbol,price,timestamp\n${f.string(40)},${f.string(5)},${f.string(10)}` : f.body(tick);
      try {
        const res = await stack.feeder.call(content, 10_000);
        outcomes.push(
          res.status === 'INVALID_ARGUMENT' && res.accepted === 0
            ? 'ok'
            : `reply ${res.status} accepted ${res.accepted}: ${content.slice(0, 80)}`,
        );
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        outcomes.push(
          code === grpc.status.INVALID_ARGUMENT || code === grpc.status.RESOURCE_EXHAUSTED
            ? 'ok'
            : `code ${code} (${(err as Error).message}): ${content.slice(0, 80)}`,
        );
      }
    }
    // Bytes that are not a RawData message at all.
    const raw = new grpc.Client(`127.0.0.1:${stack.grpcPort}`, grpc.credentials.createInsecure());
    for (let i = 0; i < 5; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + f.int(64) }, () => f.int(256)));
      const code = await new Promise<number>((resolve) =>
        raw.makeUnaryRequest(
          '/dataprocessor.DataProcessor/ProcessData',
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          stack.feeder.authMetadata(),
          (err) => resolve(err?.code ?? 0),
        ),
      );
      outcomes.push(
        [grpc.status.INVALID_ARGUMENT, grpc.status.INTERNAL].includes(code) ? 'ok' : `raw bytes -> code ${code}`,
      );
    }
    raw.close();
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(await stack.storedTicks()).toHaveLength(stack.feeder.accepted.size);
  }, 120_000);

  it('when connections and subscriptions flood the gateway, then surplus is refused with 4xx or error messages, ' +
    'nothing crashes, and memory stays bounded', async () => {
    const f = new Fuzzer(SEED + 3);
    const unauthorized = await Promise.all(
      Array.from(
        { length: 150 },
        () =>
          new Promise<number>((resolve) => {
            const ws = new WebSocket(`${stack.gateway.url.replace('http', 'ws')}/ws?token=${enc(f)}`);
            ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
            ws.on('open', () => (resolve(101), ws.terminate()));
            ws.on('error', () => resolve(-1));
          }),
      ),
    );
    expect(unauthorized.filter((s) => s < 400 || s >= 500)).toEqual([]);

    const sockets: WebSocket[] = [];
    const received: string[] = [];
    const sessions = await Promise.all(
      Array.from(
        { length: 100 },
        async () =>
          (
            (await (await request(`${stack.gateway.url}/session`, { method: 'POST' })).body.json()) as {
              websocket_url: string;
            }
          ).websocket_url,
      ),
    );
    await Promise.all(
      sessions.map(
        (url) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.on('message', (raw: Buffer) => received.push((JSON.parse(raw.toString()) as { type: string }).type));
            ws.once('open', () => (sockets.push(ws), resolve()));
            ws.once('error', reject);
          }),
      ),
    );
    const many = Array.from({ length: 80 }, (_, i) => `F${i}`);
    for (const ws of sockets) {
      ws.on('error', () => undefined);
      ws.send(JSON.stringify({ type: 'subscribe', symbols: [...SYMBOLS, ...many] }));
      for (let i = 0; i < 20; i++)
        ws.send(JSON.stringify({ type: i % 2 ? 'unsubscribe' : 'subscribe', symbols: SYMBOLS }));
    }
    await waitFor(
      () =>
        received.filter((t) => t === 'subscribed' || t === 'unsubscribed' || t === 'error').length >=
        sockets.length * 21,
      60_000,
      'the flood to be answered',
      100,
    );
    for (const ws of sockets) ws.terminate();

    // Still serving, and ticks still flow end to end.
    for (let i = 0; i < 10; i++) await stack.feeder.send(10);
    await expectAcceptedStoredAndSeen(stack, stack.clients);

    const grown = (p: ServiceProcess) => p.rss() - (rssBefore[p.name] ?? 0);
    for (const p of stack.all) {
      expect(p.alive, `${p.name} alive`).toBe(true);
      expect(grown(p), `${p.name} RSS growth`).toBeLessThan(MEMORY_BOUND);
    }
    expect(stack.leakedSecrets()).toEqual([]);
  }, 120_000);
});
