import { AreaSeries, ColorType, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import { PriceFeed, type ConnectionState, type PriceTick } from './feed.js';
import './style.css';

interface Quote {
  price: number | undefined;
  timestamp: string | undefined;
  /** The day's first price: the first history point today, else the first price seen. */
  open: number | undefined;
  openFromHistory: boolean;
  source: string | undefined;
  stale: boolean;
}

const STORAGE_KEY = 'lizards.watchlist';
const SYMBOL = /^[A-Z][A-Z0-9.-]{0,11}$/;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const quotes = new Map<string, Quote>();
/** Every tick timestamp received per symbol (bounded): lets a test check that a reconnect missed nothing. */
const received: Record<string, string[]> = {};
let selected: string | undefined;

const priceFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const changeFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
const pctFormat = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function saveWatchlist(): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify([...quotes.keys()]));
}

function loadWatchlist(): string[] {
  try {
    const list = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string' && SYMBOL.test(s)) : [];
  } catch {
    return [];
  }
}

function startOfTodayUtc(): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString();
}

interface HistoryPoint {
  price: number;
  timestamp: string;
}

async function history(symbol: string, query: Record<string, string>): Promise<HistoryPoint[]> {
  const res = await fetch(`/prices/${encodeURIComponent(symbol)}/history?${new URLSearchParams(query)}`);
  if (!res.ok) return [];
  return ((await res.json()) as { prices: HistoryPoint[] }).prices;
}

// ---- errors -------------------------------------------------------------------------------------------------

function showError(message: string): void {
  const box = $('errors');
  const item = document.createElement('div');
  item.className = 'error';
  item.innerHTML = '<span class="error-icon" aria-hidden="true">!</span><span class="error-text"></span><button type="button" class="dismiss" aria-label="Dismiss">×</button>';
  item.querySelector('.error-text')!.textContent = message;
  item.querySelector('button')!.addEventListener('click', () => item.remove());
  box.prepend(item);
  while (box.children.length > 3) box.lastElementChild!.remove();
  window.setTimeout(() => item.remove(), 20_000);
}

// ---- connection state ---------------------------------------------------------------------------------------

const STATE_TEXT: Record<ConnectionState, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };

function showState(state: ConnectionState, detail: string): void {
  const el = $('connection');
  el.dataset.state = state;
  el.title = detail;
  $('connection-text').textContent = state === 'live' && detail !== 'connected' ? `Live · ${detail}` : STATE_TEXT[state];
}

// ---- table --------------------------------------------------------------------------------------------------

function rowOf(symbol: string): HTMLTableRowElement | null {
  return document.querySelector<HTMLTableRowElement>(`tr[data-symbol="${CSS.escape(symbol)}"]`);
}

function addRow(symbol: string): void {
  const tr = document.createElement('tr');
  tr.dataset.symbol = symbol;
  tr.innerHTML = `
    <th scope="row"><button type="button" class="symbol"></button></th>
    <td class="num price">—</td><td class="num change">—</td><td class="num pct">—</td><td class="num time">—</td>
    <td class="actions"><button type="button" class="remove">×</button></td>`;
  const symbolButton = tr.querySelector<HTMLButtonElement>('.symbol')!;
  symbolButton.textContent = symbol;
  symbolButton.addEventListener('click', () => select(symbol));
  const remove = tr.querySelector<HTMLButtonElement>('.remove')!;
  remove.setAttribute('aria-label', `Remove ${symbol}`);
  remove.title = `Remove ${symbol}`;
  remove.addEventListener('click', () => removeSymbol(symbol, true));
  $('rows').append(tr);
  $('empty').hidden = true;
}

function renderRow(symbol: string, direction: number): void {
  const q = quotes.get(symbol);
  const tr = rowOf(symbol);
  if (!q || !tr || q.price === undefined) return;
  const cells = (cls: string) => tr.querySelector<HTMLElement>(`.${cls}`)!;
  cells('price').textContent = priceFormat.format(q.price);
  cells('time').textContent = q.timestamp ? timeFormat.format(new Date(q.timestamp)) : '—';
  cells('time').title = q.source ? `source: ${q.source}` : '';
  tr.classList.toggle('stale', q.stale);
  if (q.open !== undefined) {
    const change = q.price - q.open;
    cells('change').textContent = changeFormat.format(change);
    cells('pct').textContent = pctFormat.format(change / q.open);
    tr.dataset.trend = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  }
  if (direction !== 0) {
    const price = cells('price');
    price.classList.remove('flash-up', 'flash-down');
    void price.offsetWidth; // restart the animation
    price.classList.add(direction > 0 ? 'flash-up' : 'flash-down');
  }
  if (symbol === selected) renderQuoteHeader();
}

function addSymbol(symbol: string): void {
  if (quotes.has(symbol)) {
    select(symbol);
    return;
  }
  quotes.set(symbol, { price: undefined, timestamp: undefined, open: undefined, openFromHistory: false, source: undefined, stale: false });
  addRow(symbol);
  saveWatchlist();
  feed.subscribe(symbol);
  void loadOpen(symbol);
  if (!selected) select(symbol);
}

function removeSymbol(symbol: string, tellServer: boolean): void {
  if (!quotes.delete(symbol)) return;
  rowOf(symbol)?.remove();
  if (tellServer) feed.unsubscribe(symbol);
  else feed.drop(symbol);
  saveWatchlist();
  $('empty').hidden = quotes.size > 0;
  if (selected === symbol) select(quotes.keys().next().value);
}

async function loadOpen(symbol: string): Promise<void> {
  const [first] = await history(symbol, { from: startOfTodayUtc(), limit: '1' }).catch(() => []);
  const q = quotes.get(symbol);
  if (!q || !first) return;
  q.open = first.price;
  q.openFromHistory = true;
  renderRow(symbol, 0);
}

function onPrices(data: Record<string, PriceTick>, snapshot: boolean): void {
  for (const [symbol, tick] of Object.entries(data)) {
    const q = quotes.get(symbol);
    if (!q) continue;
    if (!snapshot) (received[symbol] ??= []).push(tick.timestamp);
    if (received[symbol] && received[symbol].length > 20_000) received[symbol].splice(0, 10_000);
    if (q.timestamp && tick.timestamp < q.timestamp) continue; // a resumed backlog older than what is shown
    const direction = q.price === undefined ? 0 : Math.sign(tick.price - q.price);
    q.price = tick.price;
    q.timestamp = tick.timestamp;
    q.source = tick.source;
    q.stale = false;
    q.open ??= tick.price;
    renderRow(symbol, direction);
    if (symbol === selected) chartTick(tick);
  }
}

// ---- chart --------------------------------------------------------------------------------------------------

let chart: IChartApi | undefined;
let series: ISeriesApi<'Area'> | undefined;
let chartReady = false;
let pending: PriceTick[] = [];
let lastChartTime = 0;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function chartColors() {
  return {
    layout: { background: { type: ColorType.Solid, color: cssVar('--panel') }, textColor: cssVar('--muted'), fontFamily: cssVar('--font') },
    grid: { vertLines: { color: cssVar('--grid') }, horzLines: { color: cssVar('--grid') } },
    rightPriceScale: { borderColor: cssVar('--border') },
    timeScale: { borderColor: cssVar('--border'), timeVisible: true, secondsVisible: true },
  };
}

function seriesColors() {
  const line = cssVar('--accent');
  return { lineColor: line, topColor: `${line}55`, bottomColor: `${line}05`, lineWidth: 2 as const };
}

function ensureChart(): void {
  if (chart) return;
  chart = createChart($('chart'), { autoSize: true, ...chartColors(), crosshair: { mode: 0 } });
  series = chart.addSeries(AreaSeries, { ...seriesColors(), priceLineVisible: true, lastValueVisible: true });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    chart?.applyOptions(chartColors());
    series?.applyOptions(seriesColors());
  });
}

function toPoint(tick: { price: number; timestamp: string }) {
  return { time: Math.floor(Date.parse(tick.timestamp) / 1000) as UTCTimestamp, value: tick.price };
}

function chartTick(tick: PriceTick): void {
  if (!chartReady) {
    pending.push(tick);
    return;
  }
  const point = toPoint(tick);
  if (point.time < lastChartTime) return;
  lastChartTime = point.time;
  series?.update(point);
}

function renderQuoteHeader(): void {
  const el = $('chart-quote');
  const q = selected ? quotes.get(selected) : undefined;
  if (!selected || !q || q.price === undefined) {
    el.textContent = selected ?? '';
    return;
  }
  const change = q.open === undefined ? 0 : q.price - q.open;
  el.dataset.trend = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  el.innerHTML = '<span class="q-symbol"></span><span class="q-price"></span><span class="q-change"></span>';
  el.querySelector('.q-symbol')!.textContent = selected;
  el.querySelector('.q-price')!.textContent = priceFormat.format(q.price);
  el.querySelector('.q-change')!.textContent =
    q.open === undefined ? '' : `${changeFormat.format(change)} (${pctFormat.format(change / q.open)})`;
}

async function select(symbol: string | undefined): Promise<void> {
  selected = symbol;
  document.querySelectorAll('tr[data-symbol]').forEach((tr) => tr.classList.toggle('selected', (tr as HTMLElement).dataset.symbol === symbol));
  $('chart-title').textContent = symbol ? `${symbol} · last 30 min` : 'Chart';
  $('chart-empty').hidden = symbol !== undefined;
  $('chart').hidden = symbol === undefined;
  renderQuoteHeader();
  if (!symbol) return;
  ensureChart();
  chartReady = false;
  pending = [];
  lastChartTime = 0;
  series!.setData([]);
  const points = await history(symbol, { from: new Date(Date.now() - 30 * 60_000).toISOString(), limit: '5000' }).catch(() => []);
  if (selected !== symbol) return;
  // One point per second (the chart's resolution): the last price of each second.
  const bySecond = new Map<number, number>();
  for (const p of points) bySecond.set(toPoint(p).time, p.price);
  const data = [...bySecond].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time: time as UTCTimestamp, value }));
  series!.setData(data);
  lastChartTime = data.at(-1)?.time ?? 0;
  chartReady = true;
  for (const tick of pending.splice(0)) chartTick(tick);
  chart!.timeScale().fitContent();
}

// ---- symbols list for the input -----------------------------------------------------------------------------

async function loadSymbolList(): Promise<void> {
  const res = await fetch('/symbols').catch(() => undefined);
  if (!res?.ok) return;
  const { symbols } = (await res.json()) as { symbols: string[] };
  $('symbol-list').replaceChildren(...symbols.map((s) => Object.assign(document.createElement('option'), { value: s })));
}

// ---- wiring -------------------------------------------------------------------------------------------------

const feed = new PriceFeed({
  state: showState,
  prices: onPrices,
  subscribed: (_accepted, rejected) => {
    // The server also sends the contract's `error` message for each, which is what is shown.
    for (const r of rejected) removeSymbol(r.symbol.toUpperCase(), false);
  },
  error: showError,
  stale: (symbol) => {
    const q = quotes.get(symbol);
    if (!q) return;
    q.stale = true;
    renderRow(symbol, 0);
  },
});

$('add-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('add-input');
  const symbol = input.value.trim().toUpperCase();
  if (!symbol) return;
  input.value = '';
  addSymbol(symbol);
});

const initial = loadWatchlist();
for (const s of initial) {
  quotes.set(s, { price: undefined, timestamp: undefined, open: undefined, openFromHistory: false, source: undefined, stale: false });
  addRow(s);
  void loadOpen(s);
}
$('empty').hidden = quotes.size > 0;
$('chart').hidden = true;
feed.start(initial);
void select(initial[0]);
void loadSymbolList();

Object.assign(window, { lizards: { received, feed } });
