import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { startStack, type RunningStack } from '../src/index.js';
import { waitFor } from '@lizards/testkit';
import { REPO_ROOT } from './support/stack-process.js';

const OUTPUT_DIR = join(REPO_ROOT, 'test-output', 'stack');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

interface PageState {
  received: Record<string, string[]>;
  reconnects: number;
}

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    // Runs in the page (the test files are type-checked without the DOM library).
    const l = (globalThis as unknown as { lizards: { received: Record<string, string[]>; feed: { reconnects: number } } }).lizards;
    return { received: JSON.parse(JSON.stringify(l.received)) as Record<string, string[]>, reconnects: l.feed.reconnects };
  });
}

async function priceText(page: Page, symbol: string): Promise<string> {
  return (await page.locator(`tr[data-symbol="${symbol}"] .price`).textContent()) ?? '';
}

async function addSymbol(page: Page, symbol: string): Promise<void> {
  await page.fill('#add-input', symbol);
  await page.click('#add-form button[type=submit]');
}

describe('the dashboard at the gateway /', () => {
  let stack: RunningStack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const env: Record<string, string | undefined> = { ...process.env, GATEWAY_PORT: '0', REGISTRY_PORT: '0', LOG_LEVEL: 'warn' };
    for (const key of ['DATABASE_URL', 'AMQP_URL', 'REDIS_URL', 'MONGO_URL']) delete env[key];
    stack = await startStack(env);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 760 }, colorScheme: 'light' });
    page.setDefaultTimeout(20_000);
    await page.goto(`${stack.gatewayUrl}/`);
    await page.locator('#connection[data-state="live"]').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.shutdown();
  }, 30_000);

  it('when AAPL is added, then its row shows a live price that changes at least twice, with change since open', async () => {
    await addSymbol(page, 'AAPL');
    const row = page.locator('tr[data-symbol="AAPL"]');
    await row.waitFor();
    const seen: string[] = [];
    await waitFor(async () => {
      const text = await priceText(page, 'AAPL');
      if (text !== '—' && text !== seen.at(-1)) seen.push(text);
      return seen.length >= 3 ? true : undefined;
    }, 30_000, 'the AAPL price to change twice', 100);
    expect(await row.locator('.change').textContent()).toMatch(/^[+\-−]?\d+\.\d\d$|^0\.00$/);
    expect(await row.locator('.pct').textContent()).toMatch(/%$/);
    await expect.poll(() => page.locator('#chart-title').textContent()).toContain('AAPL');
    await page.locator('#chart canvas').first().waitFor();
  }, 60_000);

  it('when the provider holding the page socket is shut down, then the page reconnects, resumes and misses no tick', async () => {
    const before = await pageState(page);
    const victim = stack.providers.find((p) => p.app.hub.connectionCount > 0);
    expect(victim, 'a provider holds the page socket').toBeDefined();
    await victim!.running.shutdown('test: provider stopped');

    await waitFor(async () => ((await pageState(page)).reconnects > before.reconnects ? true : undefined), 20_000, 'a reconnect');
    await page.locator('#connection[data-state="live"]').waitFor();
    const countAfterReconnect = (await pageState(page)).received.AAPL?.length ?? 0;
    const after = await waitFor(async () => {
      const s = await pageState(page);
      // Five more: with the two live ticks of the previous test the window surely spans more than five stored ticks.
      return (s.received.AAPL?.length ?? 0) >= countAfterReconnect + 5 ? s : undefined;
    }, 30_000, 'five more AAPL ticks after the reconnect');

    const received = after.received.AAPL!;
    const first = received[0]!;
    const last = [...received].sort().at(-1)!;
    const res = await request(
      `${stack.gatewayUrl}/prices/AAPL/history?from=${encodeURIComponent(first)}&to=${encodeURIComponent(new Date(Date.parse(last) + 1).toISOString())}&limit=10000`,
    );
    expect(res.statusCode).toBe(200);
    const stored = ((await res.body.json()) as { prices: { timestamp: string }[] }).prices.map((p) => new Date(p.timestamp).toISOString());
    const got = new Set(received.map((t) => new Date(t).toISOString()));
    expect(stored.length).toBeGreaterThan(5);
    expect(stored.filter((t) => !got.has(t))).toEqual([]);
  }, 90_000);

  it('when an unknown symbol is added, then the server error is shown and the symbol is not kept', async () => {
    for (const s of ['MSFT', 'NVDA', 'TSLA']) await addSymbol(page, s);
    await addSymbol(page, 'XYZ123');
    await expect.poll(() => page.locator('#errors').textContent()).toContain('Invalid stock symbol: XYZ123');
    await expect.poll(() => page.locator('tr[data-symbol="XYZ123"]').count()).toBe(0);
    await waitFor(async () => ((await priceText(page, 'TSLA')) !== '—' ? true : undefined), 20_000, 'a TSLA price');
    await page.waitForTimeout(1500); // let the chart and flashes settle for the picture
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-dark.png') });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 760 });
  }, 60_000);

  it('when AAPL is removed, then its row goes and no further AAPL update reaches the page', async () => {
    await page.click('button[aria-label="Remove AAPL"]');
    await expect.poll(() => page.locator('tr[data-symbol="AAPL"]').count()).toBe(0);
    const countAtRemoval = (await pageState(page)).received.AAPL?.length ?? 0;
    const msftAtRemoval = (await pageState(page)).received.MSFT?.length ?? 0;
    await waitFor(async () => (((await pageState(page)).received.MSFT?.length ?? 0) >= msftAtRemoval + 2 ? true : undefined), 20_000, 'MSFT ticks after the removal');
    expect((await pageState(page)).received.AAPL?.length ?? 0).toBe(countAtRemoval);
    expect(await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem('lizards.watchlist'))).not.toContain('AAPL');
  }, 40_000);
});
