import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { loadConfig, type BusMessage, type MessageBus } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';
import { IngestionConfig, resolveSourceSettings } from '../src/config.js';
import type { RawDocument, RawStore } from '../src/raw-store/raw-store.js';
import { ChromiumBrowser } from '../src/sources/chromium-browser.js';
import { HtmlSource } from '../src/sources/html-source.js';
import { HttpFetcher } from '../src/sources/http-fetcher.js';
import { RenderedSource } from '../src/sources/rendered-source.js';
import { createSources } from '../src/sources/source-factory.js';
import { ChromiumProcesses } from './support/chromium-processes.js';
import { FixtureServer } from './support/fixture-server.js';
import { buildTestApp, metricValue, observePublished } from './support/ingestion-harness.js';
import { LogCapture } from './support/log-capture.js';

// Chromium inherits this from the test process: how the test finds the browsers it started, and no one else's.
const MARKER = `LZ_RENDERED_TEST=${randomUUID()}`;
process.env.LZ_RENDERED_TEST = MARKER.split('=')[1];

const CHROMIUM = '/usr/bin/chromium';
const SELECTORS = {
  row: '#quotes tr.quote',
  symbol: '.sym',
  price: '.last',
  volume: '.vol',
  timestamp: 'time@datetime',
};
const SYMBOLS = ['AAPL', 'MSFT', 'TSLA'];
const EXPECTED_TICKS = [
  { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:01.000Z', source: 'rendered', volume: 36766619 },
  { symbol: 'MSFT', price: 430.59, timestamp: '2024-09-13T20:00:01.000Z', source: 'rendered', volume: 15874582 },
];

// While the feed is down, /delayed is the page whose quotes never appear.
let feedDown = false;
const server = new FixtureServer((url) =>
  url.pathname === '/delayed' && !feedDown
    ? { fixture: 'rendered/delayed-quotes.html', contentType: 'text/html' }
    : url.pathname === '/delayed' || url.pathname === '/never'
      ? { fixture: 'rendered/never-quotes.html', contentType: 'text/html' }
      : { status: 404 },
);
const chromiumProcesses = new ChromiumProcesses(MARKER);

/** The rendered source of the page at /delayed, waiting for its rows at most 1.5 s. */
const renderedSource = (browser: ChromiumBrowser) =>
  new RenderedSource({
    url: `${server.url}delayed`,
    intervalMs: 60_000,
    symbols: SYMBOLS,
    selectors: SELECTORS,
    waitFor: SELECTORS.row,
    timeoutMs: 1500,
    maxBytes: 1_000_000,
    browser,
  });

beforeAll(() => server.start());
afterAll(() => server.stop());

describe('the rendered source with one browser for every poll', () => {
  const logs = new LogCapture();
  let app: FastifyInstance;
  let rawStore: RawStore;
  let browser: ChromiumBrowser;
  let rendered: RenderedSource;
  let published: BusMessage[];
  const latest = async (source: string): Promise<RawDocument> =>
    (await rawStore.recent({ limit: 100 })).find((d) => d.source === source)!;

  beforeAll(async () => {
    const html = new HtmlSource(
      {
        baseUrl: `${server.url}delayed`,
        intervalMs: 60_000,
        symbols: SYMBOLS,
        fetcher: new HttpFetcher({ maxBodyBytes: 1_000_000 }),
      },
      SELECTORS,
    );
    const sources = (log: FastifyBaseLogger) => {
      browser = new ChromiumBrowser({ executablePath: CHROMIUM, jsHeapMb: 128, maxResidentBytes: 2 ** 30, log });
      rendered = renderedSource(browser);
      return [html, rendered];
    };
    let bus: MessageBus;
    ({ app, rawStore, bus } = buildTestApp({ sources, logger: logs.logger(), settings: { fetchTimeoutMs: 20_000 } }));
    await app.ready();
    published = await observePublished(bus);
  });

  afterAll(() => app?.close());

  it('when a page writes its prices with JavaScript after a delay, then the HTML source finds none and the ' +
    'rendered source stores and publishes them from the rendered HTML', async () => {
    await app.ingestion.scheduler.pollNow('html');
    const scraped = await latest('html');
    expect(scraped.ticks).toEqual([]);
    expect(scraped.problems).toMatchObject([{ reason: 'layout_changed' }]);

    await app.ingestion.scheduler.pollNow('rendered');
    const document = await latest('rendered');
    expect(document, JSON.stringify(app.ingestion.scheduler.status())).toMatchObject({
      source: 'rendered',
      url: `${server.url}delayed`,
      status: 200,
      processed: true,
      published: true,
      problems: [],
    });
    expect(document.ticks).toEqual(EXPECTED_TICKS);
    // The raw document is what the browser rendered: the rows the script wrote, not the script's source alone.
    expect(document.body).toContain('<td class="sym">AAPL</td>');
    expect(scraped.body).not.toContain('<td class="sym">AAPL</td>');

    await waitFor(() => published.length === 2, 5000, 'the published ticks');
    expect(published.map((m) => JSON.parse(m.body.toString()) as unknown)).toEqual(EXPECTED_TICKS);
    expect(published.map((m) => m.routingKey)).toEqual(['AAPL', 'MSFT']);
    expect(await metricValue(app, 'ingestion_ticks_accepted_total', { source: 'rendered' })).toBe(2);
    expect(await browser.openContexts()).toBe(0);
    expect((await app.inject({ method: 'GET', url: '/sources' })).json()).toStrictEqual({
      sources: [`${server.url}delayed`, `${server.url}delayed`],
    });
  }, 60_000);

  it(
    'when the awaited selector never appears, then the rendered HTML is stored with a render_timeout problem, ' +
      'nothing is published, the page is closed and the next poll works',
    async () => {
      const publishedBefore = published.length;
      feedDown = true;
      try {
        await app.ingestion.scheduler.pollNow('rendered');
      } finally {
        feedDown = false;
      }
      const document = await latest('rendered');
      expect(document).toMatchObject({ status: 200, ticks: [], published: true });
      expect(document.problems).toEqual([
        { reason: 'render_timeout', message: 'rendered: "#quotes tr.quote" did not appear within 1500 ms' },
      ]);
      expect(document.body).toContain('Still loading…');
      expect(await browser.openContexts()).toBe(0);
      expect(
        await metricValue(app, 'ingestion_source_problems_total', { source: 'rendered', reason: 'render_timeout' }),
      ).toBe(1);
      const [, status] = (await app.inject({ method: 'GET', url: '/sources/status' })).json().sources as Record<
        string,
        unknown
      >[];
      expect(status).toMatchObject({
        source: 'rendered',
        consecutive_failures: 1,
        last_error: expect.stringContaining('render_timeout'),
      });
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

      await app.ingestion.scheduler.pollNow('rendered');
      expect((await latest('rendered')).ticks).toEqual(EXPECTED_TICKS);
      await waitFor(() => published.length === publishedBefore + 2, 5000, 'the ticks of the next poll');
      expect(logs.entries().filter((e) => e.msg === 'chromium launched')).toHaveLength(1);
    },
  );

  it(
    'when the fetch is aborted while the page renders, then it fails with the abort reason at once and the ' +
      'page is closed',
    async () => {
      // Not aborted, this fetch would resolve with the page after its own 1500 ms timeout.
      const error = await rendered
        .fetch({ url: `${server.url}never`, symbols: SYMBOLS }, AbortSignal.timeout(300))
        .then(
          () => undefined,
          (err: unknown) => err as Error,
        );
      expect(error?.name).toBe('TimeoutError');
      // Closed at once, or (aborted while Chromium was still making the page) as soon as the page exists.
      await waitFor(async () => (await browser.openContexts()) === 0, 5000, 'the aborted page to be closed');
    },
  );

  it('when Chromium dies between polls, then the next poll launches a fresh one', async () => {
    await chromiumProcesses.list(); // remembers the dying browser's session, so that orphans of it would be found below
    const [launched] = logs.entries().filter((e) => e.msg === 'chromium launched');
    process.kill(launched!.pid as number, 'SIGKILL');
    await waitFor(
      () => logs.entries().some((e) => e.msg === 'chromium exited; the next poll launches it again'),
      10_000,
      'the exit noticed',
    );
    expect(await browser.openContexts()).toBe(0);

    await app.ingestion.scheduler.pollNow('rendered');
    expect((await latest('rendered')).ticks).toEqual(EXPECTED_TICKS);
    const launches = logs.entries().filter((e) => e.msg === 'chromium launched');
    expect(launches).toHaveLength(2);
    expect(launches[1]!.pid).not.toBe(launched!.pid);
  }, 60_000);

  it('when the app closes, then its browser is closed and no Chromium process it started is left', async () => {
    expect((await chromiumProcesses.list()).length).toBeGreaterThan(0);
    await app.close();
    await waitFor(
      async () => (await chromiumProcesses.list()).length === 0,
      10_000,
      'every Chromium process of the test to end',
    );
  });
});

describe('the rendered source without a working Chromium', () => {
  const env = (executablePath: string) => ({
    SOURCES: 'simulated,rendered',
    SYMBOLS: 'AAPL,MSFT',
    RENDERED_URL: `${server.url}delayed`,
    RENDERED_SELECTORS: JSON.stringify(SELECTORS),
    RENDERED_CHROMIUM_PATH: executablePath,
  });
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  async function appFor(vars: Record<string, string>): Promise<FastifyInstance> {
    const settings = resolveSourceSettings(loadConfig(IngestionConfig, vars));
    const { app } = buildTestApp({
      sources: (log) => createSources(settings, new HttpFetcher({ maxBodyBytes: 1_000_000 }), { log }),
    });
    apps.push(app);
    await app.ready();
    return app;
  }

  it(
    'when RENDERED_CHROMIUM_PATH names no file, then GET /sources shows the source unavailable with the ' +
      'reason, its polls fail without a crash, and the other sources keep polling',
    async () => {
      const app = await appFor(env('/nonexistent/chromium'));
      const url = `${server.url}delayed`;
      const sources = await app.inject({ method: 'GET', url: '/sources' });
      expect(sources.statusCode).toBe(200);
      expect(sources.json()).toStrictEqual({
        sources: ['simulated://market', url],
        unavailable: [{ source: 'rendered', url, reason: 'no executable chromium at /nonexistent/chromium' }],
      });

      await app.ingestion.scheduler.pollNow('rendered');
      const [, status] = app.ingestion.scheduler.status();
      expect(status).toMatchObject({
        source: 'rendered',
        failures: 1,
        documents: 0,
        last_error: 'Source unavailable: no executable chromium at /nonexistent/chromium',
      });
      await app.ingestion.scheduler.pollNow('simulated');
      expect(await metricValue(app, 'ingestion_ticks_accepted_total', { source: 'simulated' })).toBe(2);
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    },
  );

  it(
    'when the program there fails to launch, then the source is listed as available until a poll tries it, and ' +
      'unavailable with the launch error after',
    async () => {
      const app = await appFor(env('/bin/false'));
      expect((await app.inject({ method: 'GET', url: '/sources' })).json()).toStrictEqual({
        sources: ['simulated://market', `${server.url}delayed`],
      });

      await app.ingestion.scheduler.pollNow('rendered');
      const { unavailable } = (await app.inject({ method: 'GET', url: '/sources' })).json() as {
        unavailable: { source: string; reason: string }[];
      };
      expect(unavailable).toHaveLength(1);
      expect(unavailable[0]!.source).toBe('rendered');
      expect(unavailable[0]!.reason).toMatch(/^chromium at \/bin\/false failed to launch: \S/);
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    },
  );
});

describe('the memory bound of the browser', () => {
  it('when the browser process is resident over its bound after a poll, then it is closed and the next poll ' +
    'launches a fresh one', async () => {
    const logs = new LogCapture();
    const { app, rawStore } = buildTestApp({
      logger: logs.logger(),
      settings: { fetchTimeoutMs: 20_000 },
      sources: (log) => [
        renderedSource(new ChromiumBrowser({ executablePath: CHROMIUM, jsHeapMb: 64, maxResidentBytes: 1, log })),
      ],
    });
    await app.ready();
    try {
      await app.ingestion.scheduler.pollNow('rendered');
      await app.ingestion.scheduler.pollNow('rendered');
      const documents = await rawStore.recent({ limit: 10 });
      expect(documents.map((d) => d.ticks)).toEqual([EXPECTED_TICKS, EXPECTED_TICKS]);
      const launches = logs.entries().filter((e) => e.msg === 'chromium launched');
      const overBound = logs
        .entries()
        .filter((e) => e.msg === 'chromium over its memory bound; closed, the next poll launches a fresh one');
      expect(launches).toHaveLength(2);
      expect(overBound).toHaveLength(2);
      expect(overBound[0]).toMatchObject({ level: 40, pid: launches[0]!.pid, maxMb: 0 });
      expect(overBound[0]!.residentMb).toBeGreaterThan(0);
      expect(launches[1]!.pid).not.toBe(launches[0]!.pid);
      expect(() => process.kill(launches[0]!.pid as number, 0)).toThrow(/ESRCH/);
    } finally {
      await app.close();
    }
    await waitFor(
      async () => (await chromiumProcesses.list()).length === 0,
      10_000,
      'every Chromium process of the test to end',
    );
  }, 60_000);
});
