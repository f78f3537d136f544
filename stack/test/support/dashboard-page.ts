import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { CHROMIUM_LAUNCH_ARGS } from '@lizards/ingestion';

/** Debian's chromium driven by playwright-core (no browser download). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_LAUNCH_ARGS });
}

export async function newDashboardPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  page.setDefaultTimeout(20_000);
  return page;
}

export interface PageState {
  /** Timestamps of the stored ticks the page received, per symbol. */
  received: Record<string, string[]>;
  reconnects: number;
}

/** What the page's test hook (`window.lizards`) says; runs in the page (the tests are type-checked without the DOM). */
export function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const l = (
      globalThis as unknown as { lizards: { received: Record<string, string[]>; live: { reconnects: number } } }
    ).lizards;
    return {
      received: JSON.parse(JSON.stringify(l.received)) as Record<string, string[]>,
      reconnects: l.live.reconnects,
    };
  });
}

export async function rowSymbols(page: Page): Promise<string[]> {
  return page
    .locator('#rows tr')
    .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { symbol: string } }).dataset.symbol));
}

export async function priceText(page: Page, symbol: string): Promise<string> {
  return (await page.locator(`tr[data-symbol="${symbol}"] .value`).textContent()) ?? '';
}
