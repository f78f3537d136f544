import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRealProvider, type RealProvider } from './support/real-provider.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';

const UPGRADES = 1000;
const LANES = 10;

/**
 * A TCP relay in front of the provider that passes requests on at once but holds back each answer until told: while
 * it holds one, the gateway is in the middle of that upstream handshake.
 */
class HandshakeHold {
  private readonly server: net.Server;
  private readonly waiting = new Map<string, (release: () => void) => void>();
  /** Gateway-side connections not yet closed. */
  open = 0;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.server = net.createServer((gatewaySide) => {
      this.open++;
      gatewaySide.on('close', () => this.open--);
      const providerSide = net.connect(target.port, target.host);
      let request = '';
      const held: Buffer[] = [];
      let released = false;
      const release = () => {
        released = true;
        for (const chunk of held.splice(0)) gatewaySide.write(chunk);
      };
      gatewaySide.on('data', (chunk: Buffer) => {
        request += chunk.toString('latin1');
        providerSide.write(chunk);
      });
      providerSide.on('data', (chunk: Buffer) => {
        if (released) return void gatewaySide.write(chunk);
        held.push(chunk);
        if (held.length > 1) return;
        const marker = [...this.waiting.keys()].find((m) => request.includes(m));
        if (marker) {
          this.waiting.get(marker)!(release);
          this.waiting.delete(marker);
        } else release();
      });
      gatewaySide.on('close', () => providerSide.destroy());
      providerSide.on('close', () => gatewaySide.destroy());
      for (const s of [gatewaySide, providerSide]) s.on('error', () => s.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /**
   * Resolves when the answer to the request containing `marker` has arrived and is being held; call it to pass it on.
   */
  answered(marker: string): Promise<() => void> {
    return new Promise((resolve) => this.waiting.set(marker, resolve));
  }

  close(): void {
    this.server.close();
  }
}

describe('WebSocket upgrades whose client leaves during the upstream handshake', () => {
  let providerRegistry: RunningRegistry;
  let gatewayRegistry: RunningRegistry;
  let provider: RealProvider;
  let hold: HandshakeHold;
  let gateway: RunningGateway;

  beforeAll(async () => {
    // The provider registers in a registry of its own; the gateway's lists only the relay in front of it.
    providerRegistry = await startRegistry();
    provider = await startRealProvider(providerRegistry.url);
    const [host, port] = [
      provider.address.slice(0, provider.address.lastIndexOf(':')),
      Number(provider.address.split(':').pop()),
    ];
    hold = new HandshakeHold({ host, port });
    await hold.listen();
    gatewayRegistry = await startRegistry({ leaseTtlMs: 600_000 });
    const registryClient = new RegistryClient({ url: gatewayRegistry.url });
    await registryClient.register('provider', {
      name: 'held',
      ip_address: '127.0.0.1',
      port_number: hold.port,
      protocol: 'http',
    });
    await registryClient.close();
    gateway = await startGateway({ REGISTRY_URL: gatewayRegistry.url, RATE_LIMIT_MAX: '1000000' });
    await waitFor(
      () => gateway.app.gateway.directory.instances('provider').length === 1,
      10_000,
      'the relayed provider',
    );
  }, 150_000);

  afterAll(async () => {
    await gateway?.close();
    hold?.close();
    await provider?.process.stop();
    await gatewayRegistry?.close();
    await providerRegistry?.close();
  });

  it(`when ${UPGRADES} clients leave while the provider's answer is on its way, ` +
    "then every upstream socket is closed: the provider's connection gauge is back to 0", async () => {
    // The gateway's side of each client connection, by the client's port: closed once the gateway has seen it leave.
    const gatewaySides = new Map<number, { closed: Promise<void> }>();
    gateway.app.server.on('connection', (socket: net.Socket) => {
      gatewaySides.set(socket.remotePort!, { closed: new Promise((resolve) => socket.once('close', () => resolve())) });
    });
    const abandonOne = async () => {
      const token = encodeURIComponent(await provider.sessionToken());
      const answered = hold.answered(token);
      const client = net.connect(gateway.port, '127.0.0.1');
      client.on('error', () => undefined);
      await once(client, 'connect');
      const gatewaySide = await waitFor(() => gatewaySides.get(client.localPort!), 10_000, 'the gateway to accept');
      client.write(
        `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${gateway.port}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const release = await answered;
      // The client vanishes (a reset), and the gateway has seen its socket close, before the provider's answer arrives.
      client.resetAndDestroy();
      await gatewaySide.closed;
      gatewaySides.delete(client.localPort!);
      release();
    };
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        for (let i = 0; i < UPGRADES / LANES; i++) await abandonOne();
      }),
    );

    const providerConnections = () => provider.metric('provider_ws_connections');
    await waitFor(
      async () => (await providerConnections()) === 0,
      20_000,
      'the provider to have no open connection',
      200,
    ).catch(() => undefined);
    expect(await providerConnections()).toBe(0);
    await waitFor(() => hold.open === 0, 10_000, 'every upstream connection to close');
    expect(await gateway.metric('gateway_ws_connections')).toBe(0);
    expect(await gateway.metric('gateway_ws_sessions_total', { outcome: 'abandoned' })).toBe(UPGRADES);
  }, 120_000);
});
