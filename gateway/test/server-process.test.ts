import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { RegistryClient } from '@lizards/lib';
import { startRegistry, type RunningRegistry } from './support/registry-server.js';
import { startUpstream, type UpstreamDouble } from './support/upstream-double.js';
import { waitFor } from '@lizards/testkit';

// Runs the built output: `npx tsc -b` first.
const gatewayServer = fileURLToPath(new URL('../dist/server.js', import.meta.url));

describe('node gateway/dist/server.js', () => {
  let registry: RunningRegistry;
  let upstream: UpstreamDouble;

  beforeAll(async () => {
    registry = await startRegistry();
    upstream = await startUpstream({ id: 'solo', registryUrl: registry.url });
  });

  afterAll(async () => {
    await upstream?.stop();
    await registry?.close();
  });

  it(
    'when started with env config, then it registers as gateway with its admin port, proxies, and deregisters ' +
      'and exits 0 on SIGTERM',
    async () => {
      expect(existsSync(gatewayServer), 'run `npx tsc -b` first').toBe(true);
      const child = spawn(process.execPath, [gatewayServer], {
        env: {
          PATH: process.env.PATH ?? '',
          GATEWAY_PORT: '0',
          REGISTRY_URL: registry.url,
          HEARTBEAT_INTERVAL_MS: '200',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const client = new RegistryClient({ url: registry.url });
        const instance = await waitFor(
          async () => (await client.resolve('gateway', { fresh: true }))[0],
          15_000,
          'gateway registration',
        );
        await client.close();
        const url = `http://${instance.ip_address}:${instance.port_number}`;
        expect(instance.port_number).not.toBe('8080');
        const adminUrl = `http://${instance.ip_address}:${instance.admin_port}`;
        await waitFor(async () => (await request(`${adminUrl}/ready`)).statusCode === 200, 10_000, 'ready');
        expect((await request(`${url}/ready`)).statusCode).toBe(404);
        const res = await request(`${url}/symbols?cc=no-store`);
        expect(res.statusCode).toBe(200);
        expect(await res.body.json()).toMatchObject({ instance: 'solo' });

        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(registry.app.leaseStore.get('gateway')).toBeUndefined();
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  );
});
