import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { startService, waitFor, type ServiceProcess } from '@lizards/testkit';
import { buildRegistryApp } from '../../registry/src/app.js';
import { ChromiumProcesses } from './support/chromium-processes.js';
import { FixtureServer } from './support/fixture-server.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const SELECTORS = {
  row: '#quotes tr.quote',
  symbol: '.sym',
  price: '.last',
  volume: '.vol',
  timestamp: 'time@datetime',
};

describe('node ingestion/dist/server.js with the rendered source', () => {
  const marker = `LZ_RENDERED_TEST=${randomUUID()}`;
  const chromiumProcesses = new ChromiumProcesses(marker);
  const page = new FixtureServer(() => ({ fixture: 'rendered/delayed-quotes.html', contentType: 'text/html' }));
  let registry: FastifyInstance;
  let registryUrl = '';
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    registry = buildRegistryApp({ leaseTtlMs: 5000, evictionIntervalMs: 200, logger: false });
    await registry.listen({ host: '127.0.0.1', port: 0 });
    registryUrl = `http://127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
    await page.start();
  });

  afterAll(async () => {
    for (const service of services) await service.stop(2000);
    await page.stop();
    await registry.close();
  });

  async function start(env: Record<string, string>): Promise<{ service: ServiceProcess; url: string }> {
    const [name, value] = marker.split('=') as [string, string];
    const service = startService('ingestion', 'dist/server.js', PACKAGE_DIR, {
      REGISTRY_URL: registryUrl,
      SOURCES: 'rendered',
      SYMBOLS: 'AAPL,MSFT',
      RENDERED_URL: `${page.url}quotes`,
      RENDERED_SELECTORS: JSON.stringify(SELECTORS),
      [name]: value,
      ...env,
    });
    services.push(service);
    const exited = () =>
      service.child.exitCode !== null ? `exited ${service.child.exitCode}: ${service.stderr()}` : undefined;
    const ready = await waitFor(
      () => service.lines.find((l) => l.msg === 'ingestion ready'),
      30_000,
      'ingestion ready',
      50,
      exited,
    );
    return { service, url: ready.url as string };
  }

  const getJson = async (url: string) => (await (await request(url)).body.json()) as Record<string, unknown>;

  it('when it has polled through Chromium and gets SIGTERM, then it exits 0 and leaves no Chromium process ' +
    'behind', async () => {
    const { service, url } = await start({});
    const status = await waitFor(
      async () => {
        const [rendered] = (await getJson(`${url}/sources/status`)).sources as {
          ticks_accepted: number;
          last_error: string | null;
        }[];
        return rendered!.ticks_accepted === 2 || rendered!.last_error ? rendered : undefined;
      },
      30_000,
      'the first poll through Chromium',
    );
    expect(status).toMatchObject({ ticks_accepted: 2, last_error: null });
    expect((await chromiumProcesses.list()).length).toBeGreaterThan(0);

    expect(await service.stop()).toBe(0);
    await waitFor(
      async () => (await chromiumProcesses.list()).length === 0,
      10_000,
      'every Chromium process of the service to end',
    );
  }, 90_000);

  it('when RENDERED_CHROMIUM_PATH names no file, then it starts, GET /sources shows the source unavailable with ' +
    'the reason, and it keeps serving', async () => {
    const { service, url } = await start({ RENDERED_CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(await getJson(`${url}/sources`)).toStrictEqual({
      sources: [`${page.url}quotes`],
      unavailable: [
        { source: 'rendered', url: `${page.url}quotes`, reason: 'no executable chromium at /nonexistent/chromium' },
      ],
    });
    await waitFor(
      async () => ((await getJson(`${url}/sources/status`)).sources as { polls: number }[])[0]!.polls > 0,
      10_000,
      'a poll of the rendered source',
    );
    expect((await request(`${url}/health`)).statusCode).toBe(200);
    expect(await service.stop()).toBe(0);
  }, 60_000);
});
