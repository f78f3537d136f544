import { LizardsClient } from '@lizards/client';
import { CandlesChart } from './candles-chart.js';
import { ConnectionStatus } from './connection-status.js';
import { $, startOfTodayUtc } from './formats.js';
import { LineChart } from './line-chart.js';
import { announce, showError, showNotice } from './messages.js';
import { RowAlerts } from './row-alerts.js';
import { SymbolSearch } from './symbol-search.js';
import { isSymbol, loadWatchlist, saveWatchlist } from './watchlist-storage.js';
import { WatchlistTable } from './watchlist-table.js';
import './style.css';

const client = new LizardsClient({ baseUrl: location.origin });
/** Timestamps of the stored ticks received per symbol (bounded): lets a test check that a reconnect missed nothing. */
const received: Record<string, string[]> = {};
let selected: string | undefined;

const lineChart = new LineChart($('chart'), client);
const candles = new CandlesChart($('candles'), client);
const connection = new ConnectionStatus(announce);
const table = new WatchlistTable({
  select: (s) => void select(s),
  remove: (s) => removeSymbol(s, true),
  alert: (s) => alerts.open(s),
});

function record(symbol: string, timestamp: string): void {
  const list = (received[symbol] ??= []);
  list.push(timestamp);
  if (list.length > 20_000) list.splice(0, 10_000);
}

async function loadSession(symbol: string): Promise<void> {
  const reply = await client
    .candles(symbol, { interval: '1m', from: startOfTodayUtc(), to: new Date() })
    .catch(() => undefined);
  if (reply) table.session(symbol, reply.candles);
}

async function select(symbol: string | undefined): Promise<void> {
  selected = symbol;
  table.markCurrent(symbol);
  $('chart-title').textContent = symbol ? `${symbol} · last 30 min` : 'Chart';
  $('chart-empty').hidden = symbol !== undefined;
  $('chart').hidden = symbol === undefined;
  renderQuoteHeader();
  if (!symbol) return;
  await Promise.all([lineChart.show(symbol), candles.show(symbol)]);
}

function renderQuoteHeader(): void {
  const el = $('chart-quote');
  const row = selected ? document.querySelector(`tr[data-symbol="${CSS.escape(selected)}"]`) : null;
  el.replaceChildren();
  if (!selected || !row) return;
  const parts: [string, string][] = [
    ['q-symbol', selected],
    ['q-price', row.querySelector('.value')?.textContent ?? ''],
    [
      'q-change',
      `${row.querySelector('.change')?.textContent ?? ''} (${row.querySelector('.pct')?.textContent ?? ''})`,
    ],
  ];
  for (const [cls, text] of parts)
    el.append(Object.assign(document.createElement('span'), { className: cls, textContent: text }));
  el.dataset.trend = (row as HTMLElement).dataset.trend ?? 'flat';
}

function addSymbol(symbol: string): void {
  if (!isSymbol(symbol)) {
    showError(`Not a stock symbol: ${symbol}`);
    return;
  }
  if (table.has(symbol)) {
    void select(symbol);
    return;
  }
  table.add(symbol);
  saveWatchlist(table.symbols);
  live.subscribe([symbol]);
  announce(`${symbol} added to the watchlist`);
  if (!restStarted) return;
  void loadSession(symbol);
  if (!selected) void select(symbol);
}

function removeSymbol(symbol: string, tellServer: boolean): void {
  if (!table.has(symbol)) return;
  table.remove(symbol);
  alerts.forget(symbol);
  // A rejected symbol is already out of the subscription.
  if (tellServer) live.unsubscribe([symbol]);
  saveWatchlist(table.symbols);
  announce(`${symbol} removed from the watchlist`);
  if (selected === symbol) void select(table.symbols[0]);
}

const initial = loadWatchlist();
for (const s of initial) table.add(s);
$('empty').hidden = initial.length > 0;
$('chart-empty').hidden = initial.length > 0;
$('chart').hidden = true;

// The live prices first: the charts' and sessions' reads wait until the watchlist is priced (or a moment has passed),
// so the snapshots are not queued behind them, in the browser's connections or in the store.
const live = client.live(initial);
const alerts = new RowAlerts({ live, table, announce, notify: showNotice });
let restStarted = false;
function loadTheRest(): void {
  if (restStarted) return;
  restStarted = true;
  for (const s of table.symbols) void loadSession(s);
  void select(table.symbols[0]);
}
window.setTimeout(loadTheRest, 1500);

live.on('state', (state, detail) => connection.show(state, detail));
live.on('snapshot', (p) => {
  if (table.price(p, 'snapshot') && p.symbol === selected) renderQuoteHeader();
  if (table.allPriced && performance.getEntriesByName('lizards:watchlist-priced').length === 0) {
    performance.mark('lizards:watchlist-priced');
    loadTheRest();
  }
});
live.on('price', (p) => {
  record(p.symbol, p.timestamp);
  table.price(p, 'stored');
  lineChart.add(p.symbol, p.timestamp, p.price);
  candles.add(p.symbol, p.timestamp, p.price);
  if (p.symbol === selected) renderQuoteHeader();
});
live.on('provisional', (p) => {
  table.price(p, 'provisional');
  lineChart.add(p.symbol, p.timestamp, p.price);
  candles.add(p.symbol, p.timestamp, p.price);
  if (p.symbol === selected) renderQuoteHeader();
});
live.on('stored', (notice) => {
  for (const t of notice.ticks) record(t.symbol, t.timestamp);
  table.confirm(notice.ticks);
});
// The server also sends the contract's `error` message for each rejected symbol: that is what is shown.
live.on('subscribed', ({ rejected }) => {
  for (const r of rejected) removeSymbol(r.symbol.toUpperCase(), false);
});
live.on('stale', ({ symbol }) => table.stale(symbol));
live.on('error', (err) => {
  // Session and socket failures show in the connection pill, with the reconnect under way.
  if (err.code === 'LZ_ERR_CLIENT_SERVER' || err.code === 'LZ_ERR_CLIENT_BAD_MESSAGE') showError(err.message);
});

new SymbolSearch({ load: () => client.symbols(), exclude: () => new Set(table.symbols), choose: addSymbol });

Object.assign(window, { lizards: { received, live, candles } });
