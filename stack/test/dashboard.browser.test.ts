import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { LizardsClient } from '@lizards/client';
import { startStack, type RunningStack } from '../src/index.js';
import { waitFor } from '@lizards/testkit';
import { launchChromium, newDashboardPage, pageState, priceText, rowSymbols } from './support/dashboard-page.js';

// Session tokens live 2-3 s here (exp is rounded up to the second): the page's first socket outlives its token
// long before the reconnect test, which then needs a fresh session to get back in.
const SESSION_TTL_S = 2;
const DEFAULT_WATCHLIST = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META'];

describe('the dashboard at the gateway /: watchlist, live prices, search, keyboard', () => {
  let stack: RunningStack;
  let browser: Browser;
  let page: Page;
  let connectedAt = 0;

  beforeAll(async () => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      GATEWAY_PORT: '0',
      REGISTRY_PORT: '0',
      LOG_LEVEL: 'warn',
      SESSION_TTL_S: String(SESSION_TTL_S),
    };
    for (const key of ['DATABASE_URL', 'AMQP_URL', 'REDIS_URL', 'MONGO_URL']) delete env[key];
    stack = await startStack(env);
    // The simulated market's first round is stored: every default symbol is known.
    const client = new LizardsClient({ baseUrl: stack.gatewayUrl });
    await waitFor(
      async () => {
        const known = new Set(await client.symbols());
        return DEFAULT_WATCHLIST.every((s) => known.has(s));
      },
      30_000,
      'the first ticks to be stored',
      200,
    );
    browser = await launchChromium();
    page = await newDashboardPage(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.shutdown();
  }, 30_000);

  it(
    'when the dashboard is opened for the first time, then the default watchlist shows live prices in every row ' +
      '(how soon: `pnpm bench dashboard-first-view`)',
    async () => {
      await page.goto(`${stack.gatewayUrl}/`);
      await page.locator('#connection[data-state="live"]').waitFor();
      const pricedAt = await page.waitForFunction(() => {
        const mark = (
          globalThis as unknown as { performance: { getEntriesByName(name: string): { startTime: number }[] } }
        ).performance.getEntriesByName('lizards:watchlist-priced')[0];
        return mark?.startTime;
      });
      connectedAt = Date.now();
      expect(await rowSymbols(page)).toEqual(DEFAULT_WATCHLIST);
      // The page marks the moment every row has a price; how soon that comes is a speed target, measured by the bench
      // (a timed assertion here failed under the suite's load on the shared machine).
      expect(await pricedAt.jsonValue()).toBeGreaterThan(0);
      for (const s of DEFAULT_WATCHLIST) expect(await priceText(page, s)).toMatch(/^\d[\d,]*\.\d\d$/);
      expect(await page.locator('#empty').isHidden()).toBe(true);
    },
  );

  it("when prices flow, then a row's price changes at least twice, with change since the day's open, and the " +
    'first row is charted', async () => {
    const seen: string[] = [];
    await waitFor(
      async () => {
        const text = await priceText(page, 'AAPL');
        if (text !== '—' && text !== seen.at(-1)) seen.push(text);
        return seen.length >= 3 ? true : undefined;
      },
      30_000,
      'the AAPL price to change twice',
      100,
    );
    const row = page.locator('tr[data-symbol="AAPL"]');
    expect(await row.locator('.change').textContent()).toMatch(/^[+\-−]?\d+\.\d\d$|^0\.00$/);
    expect(await row.locator('.pct').textContent()).toMatch(/%$/);
    expect(await row.getAttribute('aria-current')).toBe('true');
    await expect.poll(() => page.locator('#chart-title').textContent()).toContain('AAPL');
    await page.locator('#chart canvas').first().waitFor();
  }, 60_000);

  it('when the provider holding the page socket is shut down after its session token expired, then the page ' +
    'reconnects with a new session, resumes and misses no tick', async () => {
    const expired = connectedAt + (SESSION_TTL_S + 1) * 1000 + 200 - Date.now();
    if (expired > 0) await page.waitForTimeout(expired);
    const before = await pageState(page);
    // The first socket outlived its token: an open socket is never cut at expiry.
    expect(before.reconnects).toBe(0);
    const victim = stack.providers.find((p) => p.app.hub.connectionCount > 0);
    expect(victim, 'a provider holds the page socket').toBeDefined();
    await victim!.running.shutdown('test: provider stopped');

    await waitFor(
      async () => ((await pageState(page)).reconnects > before.reconnects ? true : undefined),
      20_000,
      'a reconnect',
    );
    await page.locator('#connection[data-state="live"]').waitFor();
    const countAfterReconnect = (await pageState(page)).received.AAPL?.length ?? 0;
    const after = await waitFor(
      async () => {
        const s = await pageState(page);
        // Five more: with the live ticks of the previous test the window surely spans more than five stored ticks.
        return (s.received.AAPL?.length ?? 0) >= countAfterReconnect + 5 ? s : undefined;
      },
      30_000,
      'five more AAPL ticks after the reconnect',
    );

    const received = after.received.AAPL!;
    const first = received[0]!;
    const last = [...received].sort().at(-1)!;
    const client = new LizardsClient({ baseUrl: stack.gatewayUrl });
    const stored = (
      await client.history('AAPL', { from: first, to: new Date(Date.parse(last) + 1), limit: 10_000 })
    ).map((p) => new Date(p.timestamp).toISOString());
    const got = new Set(received.map((t) => new Date(t).toISOString()));
    expect(stored.length).toBeGreaterThan(5);
    expect(stored.filter((t) => !got.has(t))).toEqual([]);
    expect(received.length).toBe(got.size);
  }, 90_000);

  it('when letters are typed in the search, then stored symbols are suggested (prefix first) and arrow keys ' +
    'with Enter, or a click, add one', async () => {
    const search = page.locator('#symbol-search');
    await search.fill('NF');
    await expect.poll(() => page.locator('#symbol-options [role=option]').allTextContents()).toEqual(['NFLX']);
    expect(await search.getAttribute('aria-expanded')).toBe('true');
    await search.press('ArrowDown');
    expect(await search.getAttribute('aria-activedescendant')).toBe('symbol-option-0');
    await search.press('Enter');
    await page.locator('tr[data-symbol="NFLX"]').waitFor();
    expect(await search.inputValue()).toBe('');
    expect(await search.getAttribute('aria-expanded')).toBe('false');
    await expect.poll(() => page.locator('#announcer').textContent()).toBe('NFLX added to the watchlist');

    await search.fill('m');
    const options = await page.locator('#symbol-options [role=option]').allTextContents();
    // Already watched symbols are not offered; those starting with the text come first.
    expect(options).not.toContain('MSFT');
    expect(options[0]).toMatch(/^M/);
    expect(options.length).toBeLessThanOrEqual(8);
    await search.fill('AMD');
    await page.locator('#symbol-options [role=option]', { hasText: 'AMD' }).click();
    await page.locator('tr[data-symbol="AMD"]').waitFor();
    await waitFor(async () => ((await priceText(page, 'AMD')) !== '—' ? true : undefined), 20_000, 'an AMD price');
    await waitFor(async () => ((await priceText(page, 'NFLX')) !== '—' ? true : undefined), 20_000, 'an NFLX price');
  }, 60_000);

  it('when an unknown symbol is submitted, then the server error is shown and the symbol is not kept', async () => {
    await page.locator('#symbol-search').fill('XYZ123');
    await page.locator('#symbol-search').press('Enter');
    await expect.poll(() => page.locator('#errors').textContent()).toContain('Invalid stock symbol: XYZ123');
    await expect.poll(() => page.locator('tr[data-symbol="XYZ123"]').count()).toBe(0);
  });

  it(
    'when the rows are used from the keyboard, then they are one tab stop with a visible focus, arrows move, ' +
      'Enter charts and Delete removes',
    async () => {
      for (const dismiss of await page.locator('#errors .dismiss').all()) await dismiss.click();
      await page.locator('#symbol-search').focus();
      await page.keyboard.press('Tab'); // the Add button
      await page.keyboard.press('Tab');
      const focusedRow = () =>
        page.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { dataset?: { symbol?: string } } } }).document
              .activeElement.dataset?.symbol,
        );
      expect(await focusedRow()).toBe('AAPL');
      const outline = await page.locator('tr[data-symbol="AAPL"]').evaluate((el) => {
        const style = (
          globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string } }
        ).getComputedStyle(el);
        return `${style.outlineStyle} ${style.outlineWidth}`;
      });
      expect(outline).toBe('solid 2px');

      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      expect(await focusedRow()).toBe('NVDA');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#chart-title').textContent()).toContain('NVDA');
      expect(await page.locator('tr[data-symbol="NVDA"]').getAttribute('aria-current')).toBe('true');
      await expect.poll(() => page.locator('#candles-title').textContent()).toContain('NVDA');

      await page.keyboard.press('ArrowUp');
      expect(await focusedRow()).toBe('MSFT');
      await page.keyboard.press('Delete');
      await expect.poll(() => page.locator('tr[data-symbol="MSFT"]').count()).toBe(0);
      // The focus stays in the table, on the row that took its place.
      expect(await focusedRow()).toBe('NVDA');
      await expect.poll(() => page.locator('#announcer').textContent()).toBe('MSFT removed from the watchlist');
      // The remove buttons and symbol buttons are not extra tab stops.
      await page.keyboard.press('Tab');
      expect(await focusedRow()).toBeUndefined();
      expect(await page.locator('#rows button:focus').count()).toBe(0);
    },
  );

  it("when the page is opened again, then the user's own list comes back", async () => {
    const own = await rowSymbols(page);
    expect(own).toEqual(['AAPL', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META', 'NFLX', 'AMD']);
    await page.reload();
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(await rowSymbols(page)).toEqual(own);
    await waitFor(
      async () => ((await priceText(page, 'AMD')) !== '—' ? true : undefined),
      20_000,
      'an AMD price after the reload',
    );
  });

  it('when AAPL is removed, then its row goes and no further AAPL update reaches the page', async () => {
    await page.click('button[aria-label="Remove AAPL"]');
    await expect.poll(() => page.locator('tr[data-symbol="AAPL"]').count()).toBe(0);
    const countAtRemoval = (await pageState(page)).received.AAPL?.length ?? 0;
    const tslaAtRemoval = (await pageState(page)).received.TSLA?.length ?? 0;
    await waitFor(
      async () => (((await pageState(page)).received.TSLA?.length ?? 0) >= tslaAtRemoval + 2 ? true : undefined),
      20_000,
      'TSLA ticks after the removal',
    );
    expect((await pageState(page)).received.AAPL?.length ?? 0).toBe(countAtRemoval);
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem(
          'lizards.watchlist',
        ),
      ),
    ).not.toContain('AAPL');
  }, 40_000);

  it("when a row's price alert is set from the keyboard, then the row shows it, and a stored price crossing it " +
    'brings a notice once', async () => {
    const row = page.locator('tr[data-symbol="TSLA"]');
    const dialog = page.locator('#alert-dialog');
    const focused = () =>
      page.evaluate(() => {
        type Focused = { id: string; dataset?: { symbol?: string } };
        const el = (globalThis as unknown as { document: { activeElement: Focused } }).document.activeElement;
        return { id: el.id, symbol: el.dataset?.symbol };
      });
    await row.focus();
    await page.keyboard.press('a');
    await dialog.waitFor();
    expect((await focused()).id).toBe('alert-value');
    // Escape closes it without an alert; the focus goes back to the row.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await focused()).symbol).toBe('TSLA');

    await page.keyboard.press('a');
    await page.locator('#alert-kind').selectOption('below');
    await page.locator('#alert-value').fill('0');
    await page.keyboard.press('Enter');
    // Not a price: the dialog stays, saying why.
    expect(await dialog.isVisible()).toBe(true);
    const validation = (el: unknown) => (el as { validationMessage: string }).validationMessage;
    expect(await page.locator('#alert-value').evaluate(validation)).toBe('A price above 0');
    await page.locator('#alert-value').fill('0.01');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(await row.locator('.tag-alert').textContent()).toBe('≤ 0.01');
    await expect.poll(() => page.locator('#announcer').textContent()).toBe('Alert set: TSLA ≤ 0.01');

    // Changed from the bell: a level every next stored price is at, so it fires at once.
    await row.locator('.alert-button').click();
    await dialog.waitFor();
    expect(await page.locator('#alert-clear').isVisible()).toBe(true);
    await page.locator('#alert-kind').selectOption('above');
    await page.locator('#alert-value').fill('0.01');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('#notices').textContent(), { timeout: 20_000 })
      .toMatch(/TSLA alert ≥ 0\.01: [\d,]+\.\d\d at \d\d:\d\d:\d\d/);
    await expect.poll(() => row.locator('.tag-alert').isHidden()).toBe(true);
    const tslaAtFire = (await pageState(page)).received.TSLA?.length ?? 0;
    const tslaCount = async () => (await pageState(page)).received.TSLA?.length ?? 0;
    const moreTicks = async () => ((await tslaCount()) >= tslaAtFire + 2 ? true : undefined);
    await waitFor(moreTicks, 20_000, 'TSLA ticks after it fired');
    expect(await page.locator('#notices .notice').count()).toBe(1);
  }, 60_000);
});
