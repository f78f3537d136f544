import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { RegistryClient } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';
import { startGateway, type RunningGateway } from './support/gateway-server.js';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';

/** A listener that must never be reached: it counts the connections it gets and drops them. */
class Canary {
  connections = 0;
  private readonly server = net.createServer((socket) => {
    this.connections++;
    socket.destroy();
  });

  async listen(host: string, port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): void {
    this.server.close();
  }
}

/** Opens a WebSocket and tells how it ended: 'open', or the HTTP status that refused it. */
function handshake(url: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => (resolve('open'), ws.close()));
    ws.once('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), res.resume(), ws.terminate()));
    ws.once('error', () => resolve(-1));
  });
}

async function get(gateway: RunningGateway, path: string): Promise<{ status: number; instance?: string }> {
  const res = await request(`${gateway.url}${path}`);
  const text = await res.body.text();
  return {
    status: res.statusCode,
    ...(res.statusCode === 200 ? { instance: (JSON.parse(text) as { instance: string }).instance } : {}),
  };
}

describe('instances the gateway may route to', () => {
  let registry: RunningRegistry;
  let registryClient: RegistryClient;
  let good: UpstreamDouble;
  let gateway: RunningGateway;
  const canaries: Canary[] = [];
  const logs: Record<string, unknown>[] = [];

  const register = (ip_address: string, port_number: number, protocol: 'http' | 'https' | 'gRPC' | 'tcp' = 'http') =>
    registryClient.register('provider', {
      name: `canary-${ip_address}-${protocol}`,
      ip_address,
      port_number,
      protocol,
    });
  const canaryConnections = () => canaries.reduce((sum, c) => sum + c.connections, 0);

  beforeAll(async () => {
    registry = await startRegistry({ leaseTtlMs: 600_000 });
    registryClient = new RegistryClient({ url: registry.url });
    good = await startUpstream({ id: 'good', registryUrl: registry.url });
    // Outside the test allow-list (127.0.0.1 only), though on this machine: a connection would be seen.
    const outside = new Canary();
    canaries.push(outside);
    await register('127.0.0.2', await outside.listen('127.0.0.2'));
    // Inside the allow-list but not speaking HTTP.
    for (const protocol of ['gRPC', 'tcp'] as const) {
      const wrongProtocol = new Canary();
      canaries.push(wrongProtocol);
      await register('127.0.0.1', await wrongProtocol.listen('127.0.0.1'), protocol);
    }
    gateway = await startGateway(
      { REGISTRY_URL: registry.url, UPSTREAM_ALLOW: '127.0.0.1/32, ::1', RATE_LIMIT_MAX: '100000' },
      { logs },
    );
    await waitFor(
      () => gateway.app.gateway.directory.instances('provider').length === 4,
      10_000,
      'every registered instance',
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await good?.stop();
    for (const c of canaries) c.close();
    await registryClient?.close();
    await registry?.close();
  });

  it(
    'when instances outside UPSTREAM_ALLOW or with a non-HTTP protocol are registered, then REST requests only ' +
      'ever reach the allowed HTTP instance',
    async () => {
      for (let i = 0; i < 30; i++) {
        const path = i % 2 === 0 ? `/prices/A${i}?cc=no-store` : `/symbols?n=${i}`;
        expect(await get(gateway, path)).toEqual({ status: 200, instance: 'good' });
      }
      expect(canaryConnections()).toBe(0);
    },
  );

  it('when WebSocket upgrades come in, then they only ever reach the allowed HTTP instance', async () => {
    for (let i = 0; i < 10; i++)
      expect(await handshake(`${gateway.url.replace('http', 'ws')}/ws?token=good`)).toBe('open');
    expect(canaryConnections()).toBe(0);
  });

  it('when instances are refused, then each is logged once and counted, however often membership changes', async () => {
    const passing = await startUpstream({ id: 'passing', registryUrl: registry.url });
    await waitFor(
      () => gateway.app.gateway.directory.instances('provider').length === 5,
      10_000,
      'the passing instance',
    );
    for (let i = 0; i < 5; i++) await get(gateway, `/symbols?again=${i}`);
    await passing.stop();
    await waitFor(
      () => gateway.app.gateway.directory.instances('provider').length === 4,
      10_000,
      'the passing instance to leave',
    );
    for (let i = 0; i < 5; i++) await get(gateway, `/symbols?after=${i}`);

    expect(
      await gateway.metric('gateway_upstream_refused_total', { upstream_service: 'provider', reason: 'address' }),
    ).toBe(1);
    expect(
      await gateway.metric('gateway_upstream_refused_total', { upstream_service: 'provider', reason: 'protocol' }),
    ).toBe(2);
    const refusals = logs.filter((l) => String(l.msg).startsWith('upstream instance refused'));
    expect(refusals.map((l) => [l.address, l.protocol, l.reason]).sort()).toEqual([
      ['127.0.0.1', 'gRPC', 'protocol'],
      ['127.0.0.1', 'tcp', 'protocol'],
      ['127.0.0.2', 'http', 'address'],
    ]);
    expect(await gateway.metric('gateway_upstream_instances', { upstream_service: 'provider' })).toBe(1);
    expect(canaryConnections()).toBe(0);
  });
});

describe('the default UPSTREAM_ALLOW', () => {
  let registry: RunningRegistry;
  let registryClient: RegistryClient;
  let good: UpstreamDouble;
  let gateway: RunningGateway;

  beforeAll(async () => {
    registry = await startRegistry({ leaseTtlMs: 600_000 });
    registryClient = new RegistryClient({ url: registry.url });
    good = await startUpstream({ id: 'good', registryUrl: registry.url });
    for (const ip_address of [
      '169.254.169.254',
      '169.254.10.10',
      'fe80::1',
      'fd00:ec2::254',
      '0.0.0.0',
      '203.0.113.9',
    ]) {
      await registryClient.register('provider', {
        name: `outside-${ip_address}`,
        ip_address,
        port_number: 80,
        protocol: 'http',
      });
    }
    gateway = await startGateway({ REGISTRY_URL: registry.url, RATE_LIMIT_MAX: '100000' });
    await waitFor(
      () => gateway.app.gateway.directory.instances('provider').length === 7,
      10_000,
      'every registered instance',
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await good?.stop();
    await registryClient?.close();
    await registry?.close();
  });

  it(
    'when link-local, cloud metadata, unspecified and public addresses are registered, then only the loopback ' +
      'instance is routed to',
    async () => {
      for (let i = 0; i < 14; i++)
        expect(await get(gateway, `/symbols?n=${i}`)).toEqual({ status: 200, instance: 'good' });
      expect(
        await gateway.metric('gateway_upstream_refused_total', { upstream_service: 'provider', reason: 'address' }),
      ).toBe(6);
      expect(await gateway.metric('gateway_upstream_instances', { upstream_service: 'provider' })).toBe(1);
    },
  );
});

describe('instances registered by host name', () => {
  const HOST = 'provider.lizards.test';
  const realLookup = dns.lookup;
  /** What HOST resolves to, one answer per lookup in turn: as a name server rebinding it between check and connect. */
  let answers: string[][] = [];
  let lookups = 0;
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;
  let gateway: RunningGateway;
  const canary = new Canary();
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const fake = (
      hostname: string,
      options: LookupOptions | ((...args: unknown[]) => void),
      callback?: (...args: unknown[]) => void,
    ) => {
      const done = (typeof options === 'function' ? options : callback)!;
      const opts = typeof options === 'function' ? {} : options;
      if (hostname !== HOST) return (realLookup as (...args: unknown[]) => void)(hostname, opts, done);
      const list: LookupAddress[] = answers[lookups++ % answers.length]!.map((address) => ({ address, family: 4 }));
      process.nextTick(() => (opts.all ? done(null, list) : done(null, list[0]!.address, 4)));
    };
    Object.assign(dns, { lookup: fake });
    registry = await startRegistry({ leaseTtlMs: 600_000 });
    upstream = await startUpstream({ id: 'named', registryUrl: registry.url, advertise: HOST });
    await canary.listen('127.0.0.2', upstream.port);
    // Every refused connection would open the circuit: kept closed, each request resolves and connects anew.
    gateway = await startGateway(
      {
        REGISTRY_URL: registry.url,
        UPSTREAM_ALLOW: '127.0.0.1/32',
        RATE_LIMIT_MAX: '100000',
        BREAKER_FAILURE_THRESHOLD: '1000',
      },
      { logs },
    );
    await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the named instance');
  });

  afterAll(async () => {
    Object.assign(dns, { lookup: realLookup });
    await gateway?.close();
    await upstream?.stop();
    canary.close();
    await registry?.close();
  });

  it('when the name resolves inside the allow-list, then requests reach it', async () => {
    answers = [['127.0.0.1']];
    expect(await get(gateway, '/symbols?cc=no-store')).toEqual({ status: 200, instance: 'named' });
  });

  it(
    'when the name resolves differently from one lookup to the next, then only the checked address is ever ' +
      'connected to',
    async () => {
      answers = [['127.0.0.2'], ['127.0.0.1'], ['127.0.0.2', '127.0.0.1'], ['127.0.0.1', '127.0.0.2']];
      const before = lookups;
      const statuses = new Set<number>();
      // Each answer closes its connection, so every request connects (and resolves) anew.
      for (let i = 0; i < 24; i++) statuses.add((await get(gateway, `/prices/R${i}?cc=no-store&close=1`)).status);
      for (let i = 0; i < 8; i++) await handshake(`${gateway.url.replace('http', 'ws')}/ws?token=good`);
      expect(lookups - before).toBeGreaterThanOrEqual(24);
      expect(statuses).toContain(200);
      expect(canary.connections).toBe(0);
    },
  );

  it(
    'when the name resolves only outside the allow-list, then nothing is contacted, the client gets 502, and ' +
      'the refusal is logged once and counted',
    async () => {
      answers = [['127.0.0.2']];
      for (let i = 0; i < 5; i++) expect((await get(gateway, `/symbols?outside=${i}`)).status).toBe(502);
      expect(await handshake(`${gateway.url.replace('http', 'ws')}/ws?token=good`)).toBe(502);
      expect(canary.connections).toBe(0);
      expect(
        await gateway.metric('gateway_upstream_refused_total', {
          upstream_service: 'provider',
          reason: 'resolved_address',
        }),
      ).toBe(1);
      expect(logs.filter((l) => String(l.msg).startsWith('upstream address refused'))).toEqual([
        expect.objectContaining({ host: HOST, addresses: ['127.0.0.2'] }),
      ]);
    },
  );
});
