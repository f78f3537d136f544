import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { request } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@lizards/testkit';
import { startStack, type RunningStack } from '../src/index.js';

// The whole system, embedded, answering through the gateway as it does for users: what it sends must be what
// /docs/json (REST) and /docs/asyncapi.json (WebSocket) say.

type Responses = Record<string, { content?: Record<string, { schema: object }> }>;
type OpenApi = { paths: Record<string, Record<string, { responses: Responses }>> };
type AsyncApi = {
  channels: { live: { address: string } };
  operations: Record<string, { action: 'send' | 'receive'; messages: { $ref: string }[] }>;
  components: { schemas: Record<string, object> };
};
type Message = Record<string, unknown> & { type: string };

const SYMBOLS = ['AAPL', 'MSFT'];

function validator(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  return ajv;
}

/** A socket that keeps every message it gets, in order. */
class Client {
  readonly messages: Message[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString()) as Message));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  async next(what: string, match: (m: Message) => boolean, after = 0): Promise<Message> {
    return waitFor(() => this.messages.slice(after).find(match), 20_000, what, 20);
  }
}

describe('the public API against its published contract', () => {
  let stack: RunningStack;
  let openapi: OpenApi;
  let asyncapi: AsyncApi;

  beforeAll(async () => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      GATEWAY_PORT: '0',
      REGISTRY_PORT: '0',
      LOG_LEVEL: 'warn',
      SYMBOLS: SYMBOLS.join(','),
      // A round of ticks every 2 s, stored 300 ms after it is published but pushed provisionally after 10 ms, and
      // a symbol quiet for 1 s is stale: every kind of server message comes within a few seconds.
      SIMULATED_TICK_MS: '2000',
      STORE_BATCH_WAIT_MS: '300',
      LIVE_MAX_LAG_MS: '10',
      STALE_AFTER_MS: '1000',
    };
    for (const key of ['DATABASE_URL', 'AMQP_URL', 'REDIS_URL', 'MONGO_URL']) delete env[key];
    stack = await startStack(env);
    openapi = (await (await request(`${stack.gatewayUrl}/docs/json`)).body.json()) as OpenApi;
    asyncapi = (await (await request(`${stack.gatewayUrl}/docs/asyncapi.json`)).body.json()) as AsyncApi;
    await waitFor(
      async () => {
        const res = await request(`${stack.gatewayUrl}/symbols`);
        const body = (await res.body.json()) as { symbols?: string[] };
        return res.statusCode === 200 && SYMBOLS.every((s) => body.symbols?.includes(s));
      },
      60_000,
      'the first ticks to be stored',
      200,
    );
  }, 150_000);

  afterAll(async () => {
    await stack?.shutdown();
  }, 30_000);

  describe('REST (/docs/json)', () => {
    const ajv = validator();
    const checkAnswer = async (method: string, path: string, url: string) => {
      const res = await request(`${stack.gatewayUrl}${url}`, { method: method.toUpperCase() as 'GET' });
      const body = await res.body.text();
      const documented = openapi.paths[path]?.[method]?.responses[String(res.statusCode)];
      expect(documented, `${method} ${url} answered ${res.statusCode}, not documented: ${body}`).toBeDefined();
      const schema = documented!.content?.['application/json']?.schema;
      if (schema) {
        const validate = ajv.compile(schema);
        const errors = validate(JSON.parse(body)) ? [] : validate.errors;
        expect(errors, `${method} ${url}: ${body.slice(0, 300)}`).toEqual([]);
      }
      return res.statusCode;
    };

    it('when every documented operation is called through the gateway, then each answer is as documented', async () => {
      const called: string[] = [];
      for (const [path, item] of Object.entries(openapi.paths)) {
        if (path === asyncapi.channels.live.address) continue;
        for (const method of Object.keys(item).filter((m) => m === 'get' || m === 'post')) {
          const status = await checkAnswer(method, path, path.replace('{symbol}', 'AAPL'));
          expect(status, `${method} ${path}`).toBeLessThan(300);
          called.push(`${method} ${path}`);
        }
      }
      const everyRoute = [
        'post /session',
        'get /symbols',
        'get /prices/{symbol}',
        'get /prices/{symbol}/history',
        'get /prices/{symbol}/candles',
        'get /sources',
        'get /sources/status',
      ];
      expect(called).toEqual(expect.arrayContaining(everyRoute));
    });

    it('when a call is refused, then the error answer is documented and matches its schema', async () => {
      expect(await checkAnswer('get', '/prices/{symbol}', '/prices/NOPE')).toBe(404);
      expect(await checkAnswer('get', '/prices/{symbol}/history', '/prices/NOPE/history')).toBe(404);
      expect(await checkAnswer('get', '/prices/{symbol}/history', '/prices/AAPL/history?limit=0')).toBe(400);
      expect(await checkAnswer('get', '/prices/{symbol}/candles', '/prices/AAPL/candles?interval=2m')).toBe(400);
      expect(await checkAnswer('get', '/prices/{symbol}', '/prices/bad%20symbol')).toBe(400);
      expect(await checkAnswer('get', '/ws', '/ws')).toBe(426);
    });
  });

  describe('WebSocket (/docs/asyncapi.json)', () => {
    it('when a real session subscribes, resumes, sets alerts, errs and is shut down, then it gets documented ' +
      'messages', async () => {
      const ajv = validator();
      const received = Object.entries(asyncapi.operations)
        .filter(([, op]) => op.action === 'receive')
        .map(([, op]) => op.messages[0]!.$ref.split('/').pop()!);
      const schemas = new Map<string, ValidateFunction>(
        received.map((type) => [type, ajv.compile(asyncapi.components.schemas[type]!)]),
      );
      const session = async () => {
        const res = await request(`${stack.gatewayUrl}/session`, { method: 'POST' });
        const { websocket_url } = (await res.body.json()) as { websocket_url: string };
        expect(new URL(websocket_url).host).toBe(new URL(stack.gatewayUrl).host);
        const client = new Client(websocket_url);
        await client.opened;
        return client;
      };

      const a = await session();
      a.send({ type: 'subscribe', symbols: [...SYMBOLS, 'NOPE'] });
      await a.next('subscribed', (m) => m.type === 'subscribed');
      await a.next('an error for NOPE', (m) => m.type === 'error');
      await a.next('the snapshot', (m) => m.type === 'price_update' && m.snapshot === true);
      const provisional = (m: Message) =>
        Object.values(m.data as Record<string, { provisional?: boolean }>).some((p) => p.provisional);
      await a.next('a provisional price', (m) => m.type === 'price_update' && provisional(m));
      const first = await a.next('a stored confirmation', (m) => m.type === 'stored');
      const after = (m: Message, earlier: Message) => BigInt(m.cursor as string) > BigInt(earlier.cursor as string);
      await a.next('a later stored confirmation', (m) => m.type === 'stored' && after(m, first));
      await a.next('a stale notice', (m) => m.type === 'stale');
      a.send('{nope');
      a.send({ type: 'unsubscribe', symbols: ['MSFT'] });
      await a.next('unsubscribed', (m) => m.type === 'unsubscribed');

      // A resume from the first confirmation replays what was stored after it as price updates with a cursor.
      const b = await session();
      b.send({ type: 'subscribe', symbols: SYMBOLS, since: first.cursor });
      await b.next('a replayed price with a cursor', (m) => m.type === 'price_update' && typeof m.cursor === 'string');

      // Alerts: one any price crosses (it fires on the next stored tick), one cancelled, one refused.
      b.send({ type: 'alert', id: 'any-price', symbol: 'AAPL', below: 1e9 });
      await b.next('the alert set', (m) => m.type === 'alert_set' && m.id === 'any-price');
      await b.next('the alert triggered', (m) => m.type === 'alert_triggered' && m.id === 'any-price');
      b.send({ type: 'alert', id: 'never', symbol: 'AAPL', above: 1e9 });
      await b.next('the second alert set', (m) => m.type === 'alert_set' && m.id === 'never');
      b.send({ type: 'alert_cancel', id: 'never' });
      await b.next('the alert cancelled', (m) => m.type === 'alert_cancelled' && m.id === 'never');
      b.send({ type: 'alert', id: 'refused', symbol: 'AAPL', above: -1 });
      await b.next('an error naming the refused alert', (m) => m.type === 'error' && m.id === 'refused');

      // Whichever instances the two sockets were routed to.
      await Promise.all(stack.providers.map((p) => p.running.shutdown()));
      await a.next('the reconnect hint', (m) => m.type === 'reconnect');
      await b.next('the reconnect hint', (m) => m.type === 'reconnect');

      const messages = [...a.messages, ...b.messages];
      for (const message of messages) {
        const validate = schemas.get(message.type);
        expect(validate, `undocumented message type ${message.type}`).toBeDefined();
        expect(validate!(message) ? [] : validate!.errors, JSON.stringify(message)).toEqual([]);
      }
      // A message type added to the contract (e.g. an alert) needs a step above that makes the hub send it.
      expect(new Set(messages.map((m) => m.type))).toEqual(new Set(received));
    }, 60_000);
  });
});
