import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { LizardsClient } from '@lizards/client';
import { loadDataProcessor, type DataProcessorClient } from '@lizards/proto';
import { TcpProxy, waitFor } from '@lizards/testkit';
import { startStack, type RunningStack } from '../src/index.js';
import { createTestSchema } from '../../provider/test/support/backends.js';
import { launchChromium, newDashboardPage, pageState, priceText } from './support/dashboard-page.js';
import { REPO_ROOT } from './support/stack-process.js';

const OUTPUT_DIR = join(REPO_ROOT, 'test-output', 'stack');
/**
 * The README's picture: written by this test when UPDATE_SCREENSHOT=1 (`UPDATE_SCREENSHOT=1 npx vitest run
 * stack/test/dashboard-charts`).
 */
const README_SCREENSHOT = join(REPO_ROOT, 'docs', 'dashboard.png');
const WATCHLIST = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META'];
/** A symbol with one stored tick and no source: it goes stale. */
const QUIET = 'LZQT';
const STALE_AFTER_MS = 3000;
const HISTORY_MINUTES = 120;

/** Deterministic pseudo-random numbers (the picture is the same every run). */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/** Two hours of prices before now, every 15 s, a random walk that ends at today's price. */
function pastTicks(symbol: string, lastPrice: number, end: number, next: () => number) {
  const ticks = [];
  let price = lastPrice;
  for (let t = end; t > end - HISTORY_MINUTES * 60_000; t -= 15_000) {
    ticks.push({ symbol, price: Math.round(price * 100) / 100, timestamp: new Date(t).toISOString(), volume: 100 });
    price *= 1 + (next() - 0.5) * 0.004;
  }
  return ticks.reverse();
}

describe('the dashboard at the gateway /: candles, sparklines, stale and not-yet-stored prices', () => {
  let stack: RunningStack;
  let browser: Browser;
  let page: Page;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let grpcClient: DataProcessorClient;
  const postgresProxy = new TcpProxy('127.0.0.1', 5432);

  const ingest = (ticks: object[]) =>
    new Promise<void>((resolve, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${stack.ingest.token}`);
      grpcClient.ProcessData(
        { content: JSON.stringify(ticks) },
        metadata,
        { deadline: Date.now() + 20_000 },
        (err, res) => (err ? reject(err) : res!.status === 'OK' ? resolve() : reject(new Error(res!.message))),
      );
    });

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    schema = await createTestSchema();
    await postgresProxy.start();
    const env: Record<string, string | undefined> = {
      ...process.env,
      GATEWAY_PORT: '0',
      REGISTRY_PORT: '0',
      LOG_LEVEL: 'error',
      // PostgreSQL through a proxy the test cuts; the bus, cache and raw store embedded.
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresProxy.port}/test`,
      DATABASE_SCHEMA: schema.schema,
      STALE_AFTER_MS: String(STALE_AFTER_MS),
    };
    for (const key of ['AMQP_URL', 'REDIS_URL', 'MONGO_URL']) delete env[key];
    stack = await startStack(env);
    const { Client } = loadDataProcessor();
    grpcClient = new Client(stack.ingest.address, grpc.credentials.createInsecure());

    // History to chart: two hours before the simulated market's first prices (the same for every run).
    const client = new LizardsClient({ baseUrl: stack.gatewayUrl });
    const latest = await waitFor(
      async () => Promise.all(WATCHLIST.map((s) => client.latest(s))),
      30_000,
      'the first prices',
      200,
    );
    const end = Date.parse(latest[0]!.timestamp) - 30_000;
    const next = random(7);
    for (const p of latest) await ingest(pastTicks(p.symbol, p.price, end, next));
    await ingest([{ symbol: QUIET, price: 12.5, timestamp: new Date(end).toISOString() }]);
    // A range up to now (a closed one is cached by the gateway for minutes).
    await waitFor(
      async () => (await client.history('META', { from: new Date(end - 30 * 60_000) })).length > 100,
      30_000,
      'the history to be stored',
      200,
    );
    await waitFor(() => client.latest(QUIET), 30_000, `${QUIET} to be stored`, 200);

    browser = await launchChromium();
    page = await newDashboardPage(browser);
    await page.goto(`${stack.gatewayUrl}/`);
    await page.locator('#connection[data-state="live"]').waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    grpcClient?.close();
    await stack?.shutdown();
    await postgresProxy.stop();
    await schema?.drop();
  }, 30_000);

  const candleCount = () =>
    page.evaluate(() => (globalThis as unknown as { lizards: { candles: { count: number } } }).lizards.candles.count);
  const candlesShown = () =>
    page.locator('#candles').evaluate((el) => (el as unknown as { dataset: Record<string, string> }).dataset);
  const choose = async (name: 'interval' | 'range', value: string) => {
    const response = page.waitForResponse((r) => r.url().includes('/prices/AAPL/candles?') && r.status() === 200);
    await page.locator(`label:has(input[name="${name}"][value="${value}"])`).click();
    return new URL((await response).url());
  };

  it('when a symbol is charted, then its candles (1m over the last hour) stand beside the line chart, and the ' +
    'interval and range choices reload them', async () => {
    await expect.poll(candleCount, { timeout: 20_000 }).toBeGreaterThan(50);
    expect(await candlesShown()).toMatchObject({ interval: '1m', range: '1h' });
    await page.locator('#chart canvas').first().waitFor();
    await page.locator('#candles canvas').first().waitFor();

    const fiveMinutes = await choose('interval', '5m');
    expect(fiveMinutes.searchParams.get('interval')).toBe('5m');
    await expect.poll(candlesShown).toMatchObject({ interval: '5m', range: '1h' });
    expect(await candleCount()).toBeGreaterThanOrEqual(12);
    expect(await candleCount()).toBeLessThanOrEqual(14);

    const day = await choose('range', '1d');
    const span = Date.parse(day.searchParams.get('to')!) - Date.parse(day.searchParams.get('from')!);
    expect(span).toBe(86_400_000);
    await expect.poll(candlesShown).toMatchObject({ interval: '5m', range: '1d' });
    expect(await candleCount()).toBeGreaterThanOrEqual(HISTORY_MINUTES / 5);

    // A week of minute candles is more than one request may ask for: 1m is disabled there.
    const week = await choose('range', '1w');
    expect(week.searchParams.get('interval')).toBe('5m');
    expect(await page.locator('input[name="interval"][value="1m"]').isDisabled()).toBe(true);
    const hourly = await choose('interval', '1h');
    expect(hourly.searchParams.get('interval')).toBe('1h');
    await expect.poll(candlesShown).toMatchObject({ interval: '1h', range: '1w' });
    expect(await candleCount()).toBeGreaterThanOrEqual(2);

    await choose('range', '1h');
    expect(await page.locator('input[name="interval"][value="1m"]').isDisabled()).toBe(false);
    await choose('interval', '1m');
    await expect.poll(candlesShown).toMatchObject({ interval: '1m', range: '1h' });
  }, 60_000);

  it('when the watchlist is shown, then every row has a sparkline of the day that follows live prices', async () => {
    const points = () =>
      page
        .locator('#rows tr .sparkline polyline')
        .evaluateAll((lines) =>
          lines.map((l) => (l as unknown as { getAttribute(n: string): string }).getAttribute('points') ?? ''),
        );
    const minutesToday = Math.floor((Date.now() % 86_400_000) / 60_000);
    await expect
      .poll(async () => Math.min(...(await points()).map((p) => p.split(' ').length)))
      .toBeGreaterThanOrEqual(Math.min(60, minutesToday));
    expect(await page.locator('#rows tr .sparkline[aria-label="AAPL today"]').count()).toBe(1);
    const before = (await points())[0];
    await expect.poll(async () => (await points())[0], { timeout: 20_000 }).not.toBe(before);
  }, 40_000);

  it("when the page is photographed, then the picture shows the market (the README's screenshot)", async () => {
    await page.locator('#chart-title').click(); // no focus ring or open list in the picture
    await page.waitForTimeout(1500); // let flashes settle
    const path = join(OUTPUT_DIR, 'dashboard.png');
    await page.screenshot({ path });
    if (process.env.UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
      copyFileSync(path, README_SCREENSHOT);
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 30_000);

  it("when a watched symbol's source goes quiet, then its row is marked stale", async () => {
    await page.locator('#symbol-search').fill(QUIET);
    await page.locator('#symbol-search').press('Enter');
    await waitFor(
      async () => ((await priceText(page, QUIET)) === '12.50' ? true : undefined),
      20_000,
      `the ${QUIET} snapshot`,
    );
    const row = page.locator(`tr[data-symbol="${QUIET}"]`);
    await row.locator('.tag-stale').waitFor({ state: 'visible', timeout: STALE_AFTER_MS + 10_000 });
    expect(await row.getAttribute('class')).toContain('stale');
    // The others still tick.
    expect(await page.locator('tr[data-symbol="AAPL"] .tag-stale').isHidden()).toBe(true);
  }, 30_000);

  it('when PostgreSQL goes away, then prices keep coming marked not stored yet, and the marks go once they are ' +
    'stored', async () => {
    await postgresProxy.cut();
    try {
      await page.locator('tr.provisional .tag-provisional').first().waitFor({ state: 'visible', timeout: 20_000 });
      expect(await page.locator('#connection').getAttribute('data-state')).toBe('live');
      const shown = await priceText(page, 'AAPL');
      await expect.poll(() => priceText(page, 'AAPL'), { timeout: 10_000 }).not.toBe(shown);
    } finally {
      await postgresProxy.restore();
    }
    const stored = (await pageState(page)).received.TSLA?.length ?? 0;
    await expect.poll(() => page.locator('tr.provisional').count(), { timeout: 40_000 }).toBe(0);
    await expect
      .poll(async () => (await pageState(page)).received.TSLA?.length ?? 0, { timeout: 20_000 })
      .toBeGreaterThan(stored);
  }, 90_000);
});
