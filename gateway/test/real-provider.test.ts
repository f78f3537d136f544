import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { RabbitBus } from '@lizards/lib';
import { deletePricesTopology } from '@lizards/testkit';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRealProvider, type RealProvider } from './support/real-provider.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { waitFor } from '@lizards/testkit';

// The real provider with embedded PGlite and a real RabbitMQ.
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const run = randomUUID().slice(0, 8);
const topology = { prices: `lz.${run}.prices`, store: `lz.${run}.prices.store`, live: `lz.${run}.prices.live` };

class Client {
  readonly messages: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly socket: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data: Buffer) =>
      this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>),
    );
    this.socket.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  async until(count: number): Promise<Record<string, unknown>[]> {
    await waitFor(() => this.messages.length >= count, 10_000, `${count} messages`);
    return this.messages.slice(0, count);
  }
}

describe('the real provider behind the gateway', () => {
  let registry: RunningRegistry;
  let gateway: RunningGateway;
  let provider: RealProvider;
  let bus: RabbitBus;

  const publish = (symbol: string, price: number, timestamp: string) =>
    bus.publish(
      topology.prices,
      symbol,
      Buffer.from(JSON.stringify({ symbol, price, timestamp, source: 'simulated', volume: 100 })),
      {
        messageId: `simulated:${symbol}:${timestamp}`,
        headers: { 'x-published-at': Date.now() },
      },
    );

  beforeAll(async () => {
    registry = await startRegistry();
    provider = await startRealProvider(registry.url, {
      AMQP_URL,
      PRICES_EXCHANGE: topology.prices,
      STORE_QUEUE: topology.store,
      LIVE_EXCHANGE: topology.live,
      SESSION_SECRET: `gateway-test-secret-${run}`,
      LIVE_POLL_INTERVAL_MS: '200',
    });
    gateway = await startGateway({ REGISTRY_URL: registry.url });
    await waitFor(
      () => gateway.app.gateway.directory.instances('provider').length === 1,
      10_000,
      'the gateway to see the provider',
    );
    bus = RabbitBus.create({ url: AMQP_URL });
    await bus.waitUntilConnected();
    // Published again until stored: the provider may bind its queue only after registering (the store is idempotent).
    await waitFor(
      async () => {
        await publish('AAPL', 150.23, '2024-09-14T12:34:56.000Z');
        const res = await request(`${gateway.url}/prices/AAPL`);
        await res.body.dump();
        return res.statusCode === 200;
      },
      20_000,
      'the first tick to be stored',
      200,
    );
  }, 150_000);

  afterAll(async () => {
    await provider?.process.stop(0);
    await gateway?.close();
    await bus?.close();
    await registry?.close();
    await deletePricesTopology(AMQP_URL, topology);
  });

  it(
    'when REST prices and a session are asked through the gateway, then the provider answers them, the session ' +
      'URL pointing at the gateway',
    async () => {
      const price = await request(`${gateway.url}/prices/AAPL`);
      expect(price.statusCode).toBe(200);
      expect(await price.body.json()).toMatchObject({ symbol: 'AAPL', price: 150.23 });
      const session = await request(`${gateway.url}/session`, { method: 'POST' });
      expect(session.statusCode).toBe(200);
      const { websocket_url } = (await session.body.json()) as { websocket_url: string };
      expect(websocket_url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${gateway.port}/ws\\?token=`));
    },
  );

  it(
    'when subscribe / price_update / unsubscribe run through the gateway, then the messages equal those of a ' +
      'direct connection',
    async () => {
      const sessionUrl = async (base: string) =>
        ((await (await request(`${base}/session`, { method: 'POST' })).body.json()) as { websocket_url: string })
          .websocket_url;
      const viaGateway = new Client(await sessionUrl(gateway.url));
      const direct = new Client(await sessionUrl(`http://${provider.address}`));
      await Promise.all([viaGateway.opened, direct.opened]);

      for (const c of [viaGateway, direct])
        c.socket.send(JSON.stringify({ type: 'subscribe', symbols: ['AAPL', 'XYZ1'] }));
      await Promise.all([viaGateway.until(3), direct.until(3)]);
      await publish('AAPL', 151.5, '2024-09-14T12:35:00.000Z');
      await Promise.all([viaGateway.until(4), direct.until(4)]);
      for (const c of [viaGateway, direct]) c.socket.send(JSON.stringify({ type: 'unsubscribe', symbols: ['AAPL'] }));
      const [proxied, straight] = await Promise.all([viaGateway.until(5), direct.until(5)]);

      expect(proxied).toEqual(straight);
      expect(proxied.map((m) => m.type)).toEqual([
        'error',
        'subscribed',
        'price_update',
        'price_update',
        'unsubscribed',
      ]);
      expect(proxied[0]).toEqual({ type: 'error', message: 'Invalid stock symbol: XYZ1' });
      expect(proxied[3]).toMatchObject({ type: 'price_update', data: { AAPL: { price: 151.5 } } });

      // Shutdown of the provider: both clients get the reconnect hint and the same close code.
      provider.process.child.kill('SIGTERM');
      await waitFor(() => viaGateway.closed && direct.closed, 15_000, 'both sockets closed');
      expect(viaGateway.messages.at(-1)).toEqual(direct.messages.at(-1));
      expect(viaGateway.closed).toEqual(direct.closed);
      expect(await provider.process.exited).toBe(0);
    },
  );
});
