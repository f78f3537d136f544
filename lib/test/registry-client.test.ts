import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registrar, RegistryClient } from '@lizards/lib';
import { buildRegistryApp } from '../../registry/src/app.js';
import { waitFor } from '@lizards/testkit';

const TOKEN = 'client-test-token';
let registry: FastifyInstance;
let url: string;

beforeAll(async () => {
  registry = buildRegistryApp({ leaseTtlMs: 300, evictionIntervalMs: 20, token: TOKEN, logger: false });
  await registry.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
});
afterAll(() => registry.close());

const body = { name: 'p', ip_address: '127.0.0.1', port_number: 7001, protocol: 'http' as const };

describe('RegistryClient', () => {
  it('when registering, heartbeating and deregistering, then the registry reflects each step', async () => {
    const client = new RegistryClient({ url, token: TOKEN, cacheTtlMs: 0 });
    const instance = await client.register('client-a', body);
    expect(instance.port_number).toBe('7001');
    expect(await client.heartbeat('client-a', instance.instance_id)).toMatchObject({
      instance_id: instance.instance_id,
    });
    expect((await client.resolve('client-a')).map((i) => i.instance_id)).toEqual([instance.instance_id]);
    expect(await client.deregister('client-a', instance.instance_id)).toBe(true);
    expect(await client.deregister('client-a', instance.instance_id)).toBe(false);
    expect(await client.heartbeat('client-a', instance.instance_id)).toBeNull();
    expect(await client.resolve('client-a')).toEqual([]);
    await client.close();
  });

  it('when the token is wrong, then register fails with LZ_ERR_REGISTRY_REQUEST', async () => {
    const client = new RegistryClient({ url, token: 'wrong' });
    await expect(client.register('client-b', body)).rejects.toMatchObject({ code: 'LZ_ERR_REGISTRY_REQUEST' });
    await client.close();
  });

  it('when resolve is called again within the cache TTL, then the cached answer is returned', async () => {
    const client = new RegistryClient({ url, token: TOKEN, cacheTtlMs: 60_000 });
    const first = await client.register('client-c', body);
    expect(await client.resolve('client-c')).toHaveLength(1);
    await client.register('client-c', { ...body, port_number: 7002 });
    expect(await client.resolve('client-c')).toHaveLength(1);
    expect(await client.resolve('client-c', { fresh: true })).toHaveLength(2);
    expect(first.instance_id).toBeTruthy();
    await client.close();
  });

  it('when a watch is aborted, then it rejects at once', async () => {
    const client = new RegistryClient({ url, token: TOKEN });
    await client.register('client-d', body);
    const { index } = await client.watch('client-d', 0, 0);
    const abort = new AbortController();
    const watching = client.watch('client-d', index, 30_000, abort.signal);
    setTimeout(() => abort.abort(), 50);
    await expect(watching).rejects.toThrow();
    await client.close();
  });

  it('when the registry is unreachable, then calls fail with LZ_ERR_REGISTRY_REQUEST instead of hanging', async () => {
    const client = new RegistryClient({ url: 'http://127.0.0.1:1', timeoutMs: 500 });
    await expect(client.resolve('x')).rejects.toMatchObject({ code: 'LZ_ERR_REGISTRY_REQUEST' });
    await client.close();
  });
});

describe('Registrar', () => {
  it(
    'when the instance is evicted (e.g. the registry restarted), ' + 'then the next heartbeat registers it again',
    async () => {
      const client = new RegistryClient({ url, token: TOKEN, cacheTtlMs: 0 });
      const registrar = new Registrar(
        client,
        [{ serviceId: 'client-e', name: 'e', ipAddress: '127.0.0.1', port: 7100, protocol: 'http' }],
        50,
        pino({ level: 'silent' }),
      );
      await registrar.start();
      const first = registrar.instanceIds['client-e'];
      expect(first).toBeTruthy();
      registry.leaseStore.deregister('client-e', first!);
      await waitFor(async () => (await client.resolve('client-e')).length === 1, 5000, 're-registration');
      expect(registrar.instanceIds['client-e']).not.toBe(first);
      await new Promise((r) => setTimeout(r, 400));
      expect(await client.resolve('client-e')).toHaveLength(1);
      await registrar.stop();
      expect(await client.resolve('client-e')).toEqual([]);
      await client.close();
    },
  );
});
