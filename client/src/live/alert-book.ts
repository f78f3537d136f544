import type { AlertCondition } from '@lizards/contract';

export type { AlertCondition };

/** A price alert to set: `above`/`below` a level, or `change_pct` (signed, e.g. -5) within `window_s` seconds. */
export type AlertSpec = { symbol: string; id?: string } & (
  | { above: number }
  | { below: number }
  | { change_pct: number; window_s: number }
);

/** A set alert, as the subscription keeps it. */
export interface AlertInfo {
  id: string;
  symbol: string;
  condition: AlertCondition;
}

/** The server's `alert_triggered`: the stored tick that fired the alert (it is gone now). */
export interface AlertTriggered extends AlertInfo {
  price: number;
  /** ISO-8601, as the server sent it. */
  timestamp: string;
  /** The tick's cursor. */
  seq: string;
  /** `change_pct`: the first stored price inside the window, which the tick was compared with. */
  reference?: { price: number; timestamp: string };
}

interface Entry extends AlertInfo {
  /** Checked by the server against every stored tick up to here: the `since` it is set again with. */
  checkedTo: string | undefined;
  /** Acknowledged on the current socket: later cursors on it move `checkedTo`. */
  acknowledged: boolean;
}

const conditionKeys = ['above', 'below', 'change_pct'] as const;

function conditionOf(spec: AlertSpec): AlertCondition {
  const given = conditionKeys.filter((k) => k in spec);
  if (given.length !== 1) {
    throw new TypeError('an alert needs exactly one of above, below or change_pct (with window_s)');
  }
  if ('above' in spec) return { above: spec.above };
  if ('below' in spec) return { below: spec.below };
  return { change_pct: spec.change_pct, window_s: spec.window_s };
}

/**
 * The alerts of one subscription and how far the server has checked each. The server drops a socket's alerts when
 * it closes; on the next socket every alert is set again with `since` = how far it had been checked, so a tick
 * that crossed while the client was away still fires it. An `alert_set` tells how far; so does every cursor that
 * arrives after it on the same socket (the hub checks alerts as it dispatches ticks, before it sends them).
 */
export class AlertBook {
  private readonly entries = new Map<string, Entry>();
  private made = 0;

  get list(): AlertInfo[] {
    return [...this.entries.values()].map(({ id, symbol, condition }) => ({ id, symbol, condition }));
  }

  /**
   * Whether a server message is about the alert held under `id`, not about an earlier one it replaced (an ack or a
   * trigger of that one can cross the replacement on the wire).
   */
  holds(alert: AlertInfo): boolean {
    const e = this.entries.get(alert.id);
    if (e === undefined || e.symbol !== alert.symbol) return false;
    return JSON.stringify(e.condition) === JSON.stringify(alert.condition);
  }

  /** Adds (or replaces) an alert; returns the `alert` message to send. */
  add(spec: AlertSpec): { entry: AlertInfo; message: object } {
    const symbol = spec.symbol.trim().toUpperCase();
    if (!symbol) throw new TypeError('an alert needs a symbol');
    const id = spec.id ?? `alert-${++this.made}`;
    const entry: Entry = { id, symbol, condition: conditionOf(spec), checkedTo: undefined, acknowledged: false };
    this.entries.set(id, entry);
    return { entry: { id, symbol, condition: entry.condition }, message: this.messageOf(entry) };
  }

  remove(id: string): AlertInfo | undefined {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    return entry && { id: entry.id, symbol: entry.symbol, condition: entry.condition };
  }

  acknowledged(id: string, cursor: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.acknowledged = true;
    entry.checkedTo = cursor;
  }

  /** A cursor received on the current socket. */
  advance(cursor: string): void {
    for (const e of this.entries.values()) {
      if (e.acknowledged && (e.checkedTo === undefined || BigInt(cursor) > BigInt(e.checkedTo))) e.checkedTo = cursor;
    }
  }

  /** The messages that set every alert again on a new socket. */
  resend(): object[] {
    return [...this.entries.values()].map((e) => {
      e.acknowledged = false;
      return this.messageOf(e);
    });
  }

  private messageOf(e: Entry): object {
    const since = e.checkedTo !== undefined ? { since: e.checkedTo } : {};
    return { type: 'alert', id: e.id, symbol: e.symbol, ...e.condition, ...since };
  }
}
