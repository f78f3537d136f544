import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildRegistryApp } from '../../registry/src/app.js';
import { FixtureServer } from './support/fixture-server.js';
import { waitFor } from '@lizards/testkit';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const API_KEY = 'AVKEY-do-not-log-7f3a';

describe('node ingestion/dist/server.js', () => {
  let registry: FastifyInstance;
  let registryUrl = '';
  let dir = '';
  let child: ChildProcess | undefined;
  let output = '';
  const sources = new FixtureServer((url) =>
    url.pathname === '/q/l/'
      ? { fixture: 'stooq/quotes.csv', contentType: 'text/csv' }
      : url.pathname === '/query'
        ? { fixture: 'alphavantage/rate-limit-note.json' }
        : { status: 404 },
  );

  beforeAll(async () => {
    registry = buildRegistryApp({ leaseTtlMs: 5000, evictionIntervalMs: 200, logger: false });
    await registry.listen({ host: '127.0.0.1', port: 0 });
    registryUrl = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
    await sources.start();
    dir = await mkdtemp(join(tmpdir(), 'lz-ingestion-'));
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await sources.stop();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'when started from env and a config file, then it registers, serves /sources and /ready, polls, never logs ' +
      'the API key, and exits 0 on SIGTERM after deregistering',
    async () => {
      const configFile = join(dir, 'ingestion.json');
      await writeFile(
        configFile,
        JSON.stringify({
          sources: ['simulated', 'stooq', 'alphavantage'],
          symbols: ['AAPL', 'MSFT'],
          pollIntervalMs: 60_000,
          stooq: { baseUrl: sources.url },
          simulated: { tickMs: 200 },
        }),
      );
      child = spawn(process.execPath, [SERVER], {
        env: {
          PATH: process.env.PATH,
          REGISTRY_URL: registryUrl,
          HEARTBEAT_INTERVAL_MS: '500',
          INGESTION_CONFIG_FILE: configFile,
          ALPHAVANTAGE_API_KEY: API_KEY,
          ALPHAVANTAGE_BASE_URL: sources.url,
          RAW_STORE_DIR: join(dir, 'raw'),
          LOG_LEVEL: 'debug',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

      let port = '';
      let adminPort = '';
      await waitFor(
        async () => {
          const res = await registry.inject({ method: 'GET', url: '/services/ingestion' });
          if (res.statusCode !== 200) return false;
          ({ port_number: port, admin_port: adminPort = '' } = (
            res.json() as { instances: { port_number: string; admin_port?: string }[] }
          ).instances[0]!);
          return true;
        },
        15_000,
        'the ingestion process to register',
      );
      // The gRPC endpoint registers on its own, a moment after or before the HTTP one.
      const grpc = await waitFor(
        async () => {
          const res = await registry.inject({ method: 'GET', url: '/services/ingestion-grpc' });
          const body = res.statusCode === 200 ? (res.json() as { instances: { protocol: string }[] }) : undefined;
          return body && body.instances.length > 0 ? body : undefined;
        },
        15_000,
        'the gRPC endpoint to register',
      );
      expect(grpc.instances[0]!.protocol).toBe('gRPC');

      const base = `http://127.0.0.1:${port}`;
      const adminBase = `http://127.0.0.1:${adminPort}`;
      const list = await request(`${base}/sources`);
      // stooq from the config file, alphavantage from ALPHAVANTAGE_BASE_URL: both point at the fixture server
      expect(await list.body.text()).toBe(`{"sources":["simulated://market","${sources.url}","${sources.url}"]}`);
      const ready = await request(`${adminBase}/ready`);
      expect(ready.statusCode).toBe(200);
      expect(await ready.body.json()).toMatchObject({ checks: { bus: 'ok', raw_store: 'ok' } });

      await waitFor(
        () =>
          sources.requests.some((r) => r.url.pathname === '/query') &&
          sources.requests.some((r) => r.url.pathname === '/q/l/'),
        10_000,
        'both HTTP sources polled',
      );
      await waitFor(() => output.includes('"reason":"rate_limited"'), 10_000, 'the rate-limit note logged');
      const stooqAccepted = /^ingestion_ticks_accepted_total\{source="stooq",service="ingestion"\} 3$/m;
      await waitFor(
        async () => stooqAccepted.test(await (await request(`${adminBase}/metrics`)).body.text()),
        10_000,
        'the stooq ticks counted',
      );

      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect((await registry.inject({ method: 'GET', url: '/services/ingestion' })).statusCode).toBe(404);

      expect(output).toContain('apikey=[redacted]');
      expect(output).not.toContain(API_KEY);
    },
  );

  it('when gRPC would listen beyond loopback without INGEST_TOKEN, ' +
    'then it refuses to start, naming INGEST_TOKEN', async () => {
    const refused = spawn(process.execPath, [SERVER], {
      env: { PATH: process.env.PATH, HOST: '0.0.0.0', REGISTRY_URL: registryUrl, SOURCES: ',', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    refused.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    refused.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    try {
      expect(await new Promise<number | null>((resolve) => refused.once('exit', (c) => resolve(c)))).toBe(1);
    } finally {
      if (refused.exitCode === null) refused.kill('SIGKILL');
    }
    expect(text).toMatch(/INGEST_TOKEN is required/);
    expect((await registry.inject({ method: 'GET', url: '/services/ingestion-grpc' })).statusCode).toBe(404);
  }, 60_000);
});
