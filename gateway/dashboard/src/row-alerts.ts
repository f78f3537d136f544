import type { AlertCondition, AlertTriggered, PriceSubscription } from '@lizards/client';
import { $, priceFormat, timeFormat } from './formats.js';
import type { WatchlistTable } from './watchlist-table.js';

export interface RowAlertsOptions {
  live: PriceSubscription;
  table: WatchlistTable;
  announce: (text: string) => void;
  notify: (text: string) => void;
}

/** The dashboard's alerts are one per row: this id. */
const idOf = (symbol: string) => `row-${symbol}`;

export function describeCondition(c: AlertCondition): string {
  if ('above' in c) return `≥ ${priceFormat.format(c.above)}`;
  if ('below' in c) return `≤ ${priceFormat.format(c.below)}`;
  return `${c.change_pct > 0 ? '+' : ''}${c.change_pct} % in ${c.window_s} s`;
}

/**
 * A price alert per watchlist row, set in a modal dialog (the row's bell, or A on the row). The row shows the alert
 * while it is set; when it fires, the row's mark goes and a notice says at what price and time. The subscription
 * sets it again after a reconnect, so a price that crossed meanwhile still fires it.
 */
export class RowAlerts {
  private readonly dialog = $<HTMLDialogElement>('alert-dialog');
  private readonly kind = $<HTMLSelectElement>('alert-kind');
  private readonly value = $<HTMLInputElement>('alert-value');
  private readonly window = $<HTMLInputElement>('alert-window');
  private readonly conditions = new Map<string, AlertCondition>();
  private symbol: string | undefined;
  private returnTo: HTMLElement | null = null;

  constructor(private readonly opts: RowAlertsOptions) {
    $('alert-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.kind.addEventListener('change', () => this.showKind());
    this.value.addEventListener('input', () => this.value.setCustomValidity(''));
    $('alert-close').addEventListener('click', () => this.dialog.close());
    $('alert-clear').addEventListener('click', () => {
      if (this.symbol) this.clear(this.symbol, true);
      this.dialog.close();
    });
    this.dialog.addEventListener('close', () => {
      this.returnTo?.focus();
      this.returnTo = null;
    });
    opts.live.on('alert_triggered', (a) => this.fired(a));
    opts.live.on('alert_refused', ({ id }) => {
      for (const s of this.conditions.keys()) if (idOf(s) === id) this.clear(s, false);
    });
  }

  /** Opens the dialog for the row of `symbol`, filled with its alert or the current price. */
  open(symbol: string): void {
    this.symbol = symbol;
    this.returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const current = this.conditions.get(symbol);
    const price = this.opts.table.quote(symbol)?.price;
    $('alert-title').textContent = `Price alert · ${symbol}`;
    $('alert-current').textContent = price === undefined ? '' : `Last price ${priceFormat.format(price)}`;
    this.kind.value = current ? Object.keys(current)[0]! : 'above';
    this.value.value = current ? String(Object.values(current)[0]) : price !== undefined ? price.toFixed(2) : '';
    if (current && 'window_s' in current) this.window.value = String(current.window_s);
    this.value.setCustomValidity('');
    $('alert-clear').hidden = current === undefined;
    this.showKind();
    this.dialog.showModal();
    this.value.focus();
    this.value.select();
  }

  /** The row is gone: so is its alert. */
  forget(symbol: string): void {
    if (this.conditions.has(symbol)) this.clear(symbol, true);
  }

  private showKind(): void {
    $('alert-window-label').hidden = this.kind.value !== 'change_pct';
  }

  private submit(): void {
    const symbol = this.symbol;
    if (!symbol) return;
    const value = this.value.valueAsNumber;
    const windowS = this.window.valueAsNumber;
    let condition: AlertCondition;
    let problem = '';
    if (this.kind.value === 'change_pct') {
      condition = { change_pct: value, window_s: windowS };
      if (!Number.isFinite(value) || value === 0 || value <= -100 || value > 1000) {
        problem = 'A change in % other than 0, above −100 and at most 1000';
      } else if (!Number.isInteger(windowS) || windowS < 1 || windowS > 3600) problem = 'A window of 1 to 3600 seconds';
    } else {
      condition = this.kind.value === 'below' ? { below: value } : { above: value };
      if (!Number.isFinite(value) || value <= 0) problem = 'A price above 0';
    }
    if (problem) {
      this.value.setCustomValidity(problem);
      this.value.reportValidity();
      return;
    }
    this.opts.live.alert({ id: idOf(symbol), symbol, ...condition });
    this.conditions.set(symbol, condition);
    this.opts.table.alertTag(symbol, describeCondition(condition));
    this.opts.announce(`Alert set: ${symbol} ${describeCondition(condition)}`);
    this.dialog.close();
  }

  private clear(symbol: string, tellServer: boolean): void {
    this.conditions.delete(symbol);
    if (tellServer) this.opts.live.cancelAlert(idOf(symbol));
    this.opts.table.alertTag(symbol, undefined);
  }

  private fired(a: AlertTriggered): void {
    if (a.id !== idOf(a.symbol) || !this.conditions.has(a.symbol)) return;
    this.clear(a.symbol, false);
    const at = timeFormat.format(new Date(a.timestamp));
    this.opts.notify(`${a.symbol} alert ${describeCondition(a.condition)}: ${priceFormat.format(a.price)} at ${at}`);
  }
}
