import type { LivePrice } from '@lizards/client';
import { $, changeFormat, pctFormat, priceFormat, timeFormat } from './formats.js';
import { BELL_SVG } from './messages.js';
import { Sparkline } from './sparkline.js';

/** How a price came: the latest stored one on subscribe, a stored tick, or a tick not stored yet. */
export type PriceKind = 'snapshot' | 'stored' | 'provisional';

interface Quote {
  price: number | undefined;
  timestamp: string | undefined;
  source: string | undefined;
  /** The day's first price: the first candle of today, else the first price seen. */
  open: number | undefined;
  stale: boolean;
  /** The shown price is not stored yet. */
  provisional: boolean;
  sparkline: Sparkline;
}

export interface WatchlistTableEvents {
  select(symbol: string): void;
  remove(symbol: string): void;
  /** Set (or change) the row's price alert. */
  alert(symbol: string): void;
}

/**
 * The watchlist rows: last price, change and % since the day's open, a sparkline of the session, time; marks
 * for stale and not-yet-stored prices, and the row's price alert. Keyboard: one tab stop (the current row), arrow
 * keys / Home / End move, Enter or Space charts the row, A sets its price alert, Delete or Backspace removes it.
 */
export class WatchlistTable {
  private readonly quotes = new Map<string, Quote>();
  private readonly body = $<HTMLTableSectionElement>('rows');
  private current: string | undefined;

  constructor(private readonly events: WatchlistTableEvents) {
    this.body.addEventListener('keydown', (event) => this.onKey(event));
  }

  get symbols(): string[] {
    return [...this.quotes.keys()];
  }

  has(symbol: string): boolean {
    return this.quotes.has(symbol);
  }

  /** Every row shows a price. */
  get allPriced(): boolean {
    return this.quotes.size > 0 && [...this.quotes.values()].every((q) => q.price !== undefined);
  }

  add(symbol: string): void {
    if (this.quotes.has(symbol)) return;
    const sparkline = new Sparkline(`${symbol} today`);
    this.quotes.set(symbol, {
      price: undefined,
      timestamp: undefined,
      source: undefined,
      open: undefined,
      stale: false,
      provisional: false,
      sparkline,
    });
    const tr = document.createElement('tr');
    tr.dataset.symbol = symbol;
    tr.tabIndex = this.quotes.size === 1 ? 0 : -1;
    tr.innerHTML = `
      <th scope="row"><button type="button" class="symbol" tabindex="-1"></button>
        <button type="button" class="alert-button" tabindex="-1" aria-haspopup="dialog">${BELL_SVG}</button>
        <span class="tag tag-alert" hidden></span></th>
      <td class="num price"><span class="value">—</span> <span
        class="tag tag-provisional" hidden>not stored yet</span><span class="tag tag-stale" hidden>stale</span></td>
      <td class="num change">—</td><td class="num pct">—</td><td class="spark"></td><td class="num time">—</td>
      <td class="actions"><button type="button" class="remove" tabindex="-1">×</button></td>`;
    const symbolButton = tr.querySelector<HTMLButtonElement>('.symbol')!;
    symbolButton.textContent = symbol;
    symbolButton.addEventListener('click', () => this.events.select(symbol));
    tr.querySelector('.spark')!.append(sparkline.element);
    const remove = tr.querySelector<HTMLButtonElement>('.remove')!;
    remove.setAttribute('aria-label', `Remove ${symbol}`);
    remove.title = `Remove ${symbol}`;
    remove.addEventListener('click', () => this.events.remove(symbol));
    const bell = tr.querySelector<HTMLButtonElement>('.alert-button')!;
    bell.setAttribute('aria-label', `Price alert for ${symbol}`);
    bell.title = `Price alert for ${symbol} (A)`;
    bell.addEventListener('click', () => this.events.alert(symbol));
    tr.addEventListener('focus', () => this.rove(symbol));
    this.body.append(tr);
    $('empty').hidden = true;
  }

  /** Removes the row; the focus, if it was in the row, goes to the next row (or the previous, or the search box). */
  remove(symbol: string): void {
    const tr = this.row(symbol);
    if (!this.quotes.delete(symbol) || !tr) return;
    const hadFocus = tr.contains(document.activeElement);
    const neighbour = (tr.nextElementSibling ?? tr.previousElementSibling) as HTMLTableRowElement | null;
    tr.remove();
    $('empty').hidden = this.quotes.size > 0;
    if (neighbour) {
      if (this.current === symbol || tr.tabIndex === 0) neighbour.tabIndex = 0;
      if (hadFocus) neighbour.focus();
    } else if (hadFocus) {
      $('symbol-search').focus();
    }
  }

  /** Marks the charted row. */
  markCurrent(symbol: string | undefined): void {
    this.current = symbol;
    for (const tr of this.body.querySelectorAll<HTMLTableRowElement>('tr')) {
      if (tr.dataset.symbol === symbol) tr.setAttribute('aria-current', 'true');
      else tr.removeAttribute('aria-current');
    }
    if (symbol) this.rove(symbol);
  }

  quote(symbol: string): Readonly<Quote> | undefined {
    return this.quotes.get(symbol);
  }

  /** The session so far from today's minute candles: the day's open and the sparkline. */
  session(symbol: string, candles: { start: string; open: number; close: number }[]): void {
    const q = this.quotes.get(symbol);
    if (!q) return;
    if (candles[0]) q.open = candles[0].open;
    q.sparkline.seed(candles);
    this.render(symbol, 0);
  }

  /** A price for a row; one older than the price shown (a resumed backlog) changes nothing. */
  price(p: LivePrice, kind: PriceKind): boolean {
    const q = this.quotes.get(p.symbol);
    if (!q) return false;
    if (q.timestamp && Date.parse(p.timestamp) < Date.parse(q.timestamp)) return false;
    const direction = q.price === undefined || kind === 'snapshot' ? 0 : Math.sign(p.price - q.price);
    q.price = p.price;
    q.timestamp = p.timestamp;
    q.source = p.source;
    q.provisional = kind === 'provisional';
    // A snapshot is no new tick: a stale notice (which may come before it) stands until one arrives.
    if (kind !== 'snapshot') q.stale = false;
    q.open ??= p.price;
    q.sparkline.add(p.timestamp, p.price);
    this.render(p.symbol, direction);
    return true;
  }

  /** Ticks shown as not stored yet are stored now. */
  confirm(ticks: { symbol: string; timestamp: string }[]): void {
    for (const t of ticks) {
      const q = this.quotes.get(t.symbol);
      if (!q?.provisional || !q.timestamp || Date.parse(q.timestamp) !== Date.parse(t.timestamp)) continue;
      q.provisional = false;
      this.render(t.symbol, 0);
    }
  }

  stale(symbol: string): void {
    const q = this.quotes.get(symbol);
    if (!q) return;
    q.stale = true;
    this.render(symbol, 0);
  }

  /** Shows the row's price alert (`text`, e.g. "≥ 230.00"), or none. */
  alertTag(symbol: string, text: string | undefined): void {
    const tr = this.row(symbol);
    if (!tr) return;
    const tag = tr.querySelector<HTMLElement>('.tag-alert')!;
    tag.textContent = text ?? '';
    tag.title = text ? `Price alert: ${text}` : '';
    tag.hidden = text === undefined;
    tr.classList.toggle('has-alert', text !== undefined);
  }

  private row(symbol: string): HTMLTableRowElement | null {
    return this.body.querySelector<HTMLTableRowElement>(`tr[data-symbol="${CSS.escape(symbol)}"]`);
  }

  private render(symbol: string, direction: number): void {
    const q = this.quotes.get(symbol);
    const tr = this.row(symbol);
    if (!q || !tr || q.price === undefined) return;
    const cell = (cls: string) => tr.querySelector<HTMLElement>(`.${cls}`)!;
    cell('value').textContent = priceFormat.format(q.price);
    cell('time').textContent = q.timestamp ? timeFormat.format(new Date(q.timestamp)) : '—';
    cell('time').title = q.source ? `source: ${q.source}` : '';
    cell('tag-provisional').hidden = !q.provisional;
    cell('tag-stale').hidden = !q.stale;
    tr.classList.toggle('stale', q.stale);
    tr.classList.toggle('provisional', q.provisional);
    if (q.open !== undefined) {
      const change = q.price - q.open;
      cell('change').textContent = changeFormat.format(change);
      cell('pct').textContent = pctFormat.format(change / q.open);
      tr.dataset.trend = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
    }
    if (direction !== 0) {
      const price = cell('price');
      price.classList.remove('flash-up', 'flash-down');
      void price.offsetWidth; // restart the animation
      price.classList.add(direction > 0 ? 'flash-up' : 'flash-down');
    }
  }

  /** One tab stop: the row that last had the focus. */
  private rove(symbol: string): void {
    for (const tr of this.body.querySelectorAll<HTMLTableRowElement>('tr'))
      tr.tabIndex = tr.dataset.symbol === symbol ? 0 : -1;
  }

  private onKey(event: KeyboardEvent): void {
    const tr = (event.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-symbol]');
    if (!tr || event.target !== tr) return;
    const symbol = tr.dataset.symbol!;
    const rows = [...this.body.querySelectorAll<HTMLTableRowElement>('tr')];
    const at = rows.indexOf(tr);
    const focus = (i: number) => rows[Math.max(0, Math.min(rows.length - 1, i))]?.focus();
    switch (event.key) {
      case 'ArrowDown':
        focus(at + 1);
        break;
      case 'ArrowUp':
        focus(at - 1);
        break;
      case 'Home':
        focus(0);
        break;
      case 'End':
        focus(rows.length - 1);
        break;
      case 'Enter':
      case ' ':
        this.events.select(symbol);
        break;
      case 'Delete':
      case 'Backspace':
        this.events.remove(symbol);
        break;
      case 'a':
      case 'A':
        if (event.ctrlKey || event.metaKey || event.altKey) return;
        this.events.alert(symbol);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
