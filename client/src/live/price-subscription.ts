import { EventEmitter } from 'eventemitter3';
import type { Rejection, ServerMessage, StoredTickEntry } from '@lizards/contract';
import { LizardsError, LizardsHttpError } from '../errors.js';
import { AlertBook, type AlertInfo, type AlertSpec, type AlertTriggered } from './alert-book.js';
import { equalJitterDelay, type BackoffOptions } from './backoff.js';
import { decodeServerMessage } from './server-messages.js';
import {
  SOCKET_OPEN,
  type SocketCloseEvent,
  type SocketMessageEvent,
  type WebSocketConstructor,
  type WebSocketLike,
} from './websocket-like.js';

/** A price of a subscribed symbol. */
export interface LivePrice {
  symbol: string;
  price: number;
  /** ISO-8601, as the server sent it. */
  timestamp: string;
  source?: string;
}

/** A stored tick, in commit order; `cursor` is where a resume starts once its message has been handled. */
export interface StoredPriceEvent extends LivePrice {
  cursor: string;
}

/** Ticks the subscription had as `provisional` are now stored; the cursor moves past them. */
export interface StoredNotice {
  ticks: StoredTickEntry[];
  cursor: string;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface PriceSubscriptionEvents {
  /** The connection's state changed; `detail` says why (for people, not for matching). */
  state: [state: ConnectionState, detail: string];
  /** A stored tick, live or replayed after a reconnect: each stored tick once, in commit order. */
  price: [price: StoredPriceEvent];
  /** The latest stored price of a symbol, sent when it is subscribed: not a new tick, moves no cursor. */
  snapshot: [price: LivePrice];
  /** A tick not stored yet (PostgreSQL down or behind); a `stored` notice or, after a reconnect, a `price` follows. */
  provisional: [price: LivePrice];
  stored: [notice: StoredNotice];
  /** The server accepted `symbols`; `rejected` ones are dropped from the subscription. */
  subscribed: [ack: { symbols: string[]; rejected: Rejection[] }];
  /** No update for these follows. */
  unsubscribed: [ack: { symbols: string[] }];
  /** No tick for `symbol` since `since`: its source has gone quiet (not a flat price). */
  stale: [notice: { symbol: string; since: string }];
  /** The server's `error` message, a malformed message, a failed session or socket: the subscription goes on. */
  error: [error: LizardsError];
  /** The server set the alert (also after each reconnect). */
  alert_set: [alert: AlertInfo];
  /** A stored tick crossed the alert: it fired once and is gone. */
  alert_triggered: [alert: AlertTriggered];
  /** The server refused the alert (bad input, unknown symbol, too many): it is gone; an `error` event says why too. */
  alert_refused: [refusal: { id: string; message: string }];
  /** The connection was lost; the next attempt starts in `delayMs` with a fresh session. */
  reconnecting: [info: { attempt: number; delayMs: number; reason: string }];
}

export interface PriceSubscriptionOptions {
  /** `POST /session`: a `websocket_url` with a fresh token (tokens open sockets for a short while only). */
  openSession: () => Promise<string>;
  WebSocket: WebSocketConstructor;
  /** Resume from this cursor (e.g. one kept from an earlier run) instead of starting with snapshots. */
  since?: string;
  backoff?: BackoffOptions;
  /** A socket not open this long after it was made is given up and retried (default 10 s). */
  connectTimeoutMs?: number;
  /** For tests of the back-off: `Math.random` by default. */
  random?: () => number;
}

const normalize = (symbols: Iterable<string>) => [
  ...new Set([...symbols].map((s) => s.trim().toUpperCase()).filter(Boolean)),
];

function isAfter(a: string, b: string | undefined): boolean {
  return b === undefined || BigInt(a) > BigInt(b);
}

/**
 * A live subscription to prices over the gateway's WebSocket. It opens a session and a socket, subscribes, and
 * when the socket is lost takes a new session and a new socket after a back-off (equal jitter), resubscribing with
 * `since` = the last cursor, so every stored tick of its symbols arrives once, in commit order, across reconnects.
 * Symbols added since the last cursor get a snapshot instead of a replay.
 */
export class PriceSubscription extends EventEmitter<PriceSubscriptionEvents> {
  private readonly wanted = new Set<string>();
  /** Symbols the server acknowledged: what the cursor stands for, resumed with `since` after a reconnect. */
  private readonly streaming = new Set<string>();
  private lastCursor: string | undefined;
  private socket: WebSocketLike | undefined;
  private attempt = 0;
  private opened = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  private currentState: ConnectionState = 'connecting';
  private readonly alertBook = new AlertBook();
  /** Times a lost connection was opened again. */
  reconnects = 0;

  constructor(
    symbols: Iterable<string>,
    private readonly opts: PriceSubscriptionOptions,
  ) {
    super();
    for (const s of normalize(symbols)) this.wanted.add(s);
    if (opts.since !== undefined) {
      if (!/^\d{1,19}$/.test(opts.since))
        throw new TypeError(`since must be a cursor (digits), got ${JSON.stringify(opts.since)}`);
      this.lastCursor = opts.since;
      for (const s of this.wanted) this.streaming.add(s);
    }
    // After the caller has had the chance to add listeners.
    queueMicrotask(() => void this.connect());
  }

  /** The highest cursor received: pass it as `since` to a later subscription to resume from here. */
  get cursor(): string | undefined {
    return this.lastCursor;
  }

  get symbols(): string[] {
    return [...this.wanted];
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Adds symbols: each gets a snapshot, then its live prices. */
  subscribe(symbols: Iterable<string>): void {
    const added = normalize(symbols).filter((s) => !this.wanted.has(s));
    for (const s of added) this.wanted.add(s);
    if (added.length > 0) this.send({ type: 'subscribe', symbols: added });
  }

  /** Removes symbols: nothing more is emitted for them. */
  unsubscribe(symbols: Iterable<string>): void {
    const removed = normalize(symbols).filter((s) => this.wanted.delete(s));
    for (const s of removed) this.streaming.delete(s);
    if (removed.length > 0) this.send({ type: 'unsubscribe', symbols: removed });
  }

  /**
   * Sets a price alert (the same `id` replaces one); `alert_triggered` comes once when a stored tick crosses it,
   * also for a tick stored while the connection was down. The symbol need not be subscribed.
   */
  alert(spec: AlertSpec): AlertInfo & { cancel: () => boolean } {
    const { entry, message } = this.alertBook.add(spec);
    this.send(message);
    return { ...entry, cancel: () => this.cancelAlert(entry.id) };
  }

  /** Cancels an alert; false when there was none with this id (perhaps it has fired). */
  cancelAlert(id: string): boolean {
    if (!this.alertBook.remove(id)) return false;
    this.send({ type: 'alert_cancel', id });
    return true;
  }

  /** The alerts set and not yet fired. */
  get alerts(): AlertInfo[] {
    return this.alertBook.list;
  }

  /** Closes the socket for good. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'client closed');
    this.setState('closed', 'closed by the client');
  }

  private setState(state: ConnectionState, detail: string): void {
    this.currentState = state;
    this.emit('state', state, detail);
  }

  private send(message: object): void {
    if (this.socket?.readyState === SOCKET_OPEN) this.socket.send(JSON.stringify(message));
  }

  private async connect(): Promise<void> {
    if (this.closing) return;
    this.setState(this.opened ? 'reconnecting' : 'connecting', 'opening a session');
    let url: string;
    try {
      url = await this.opts.openSession();
    } catch (err) {
      if (this.closing) return;
      this.emit(
        'error',
        new LizardsError('LZ_ERR_CLIENT_SESSION', `session failed: ${(err as Error).message}`, { cause: err }),
      );
      this.retry(
        `session failed: ${(err as Error).message}`,
        err instanceof LizardsHttpError ? err.retryAfterMs : undefined,
      );
      return;
    }
    if (this.closing) return;
    let socket: WebSocketLike;
    try {
      socket = new this.opts.WebSocket(url);
    } catch (err) {
      this.emit(
        'error',
        new LizardsError('LZ_ERR_CLIENT_SOCKET', `cannot open the socket: ${(err as Error).message}`, { cause: err }),
      );
      this.retry('cannot open the socket');
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(
      () => this.drop(socket, 'the socket did not open in time'),
      this.opts.connectTimeoutMs ?? 10_000,
    );
    socket.onopen = () => {
      if (this.socket !== socket) return;
      clearTimeout(this.connectTimer);
      const resumed = this.opened && this.lastCursor !== undefined;
      if (this.opened) this.reconnects++;
      this.opened = true;
      this.setState(
        'open',
        resumed ? `resumed after cursor ${this.lastCursor}` : this.reconnects > 0 ? 'reconnected' : 'connected',
      );
      this.subscribeAll();
    };
    socket.onmessage = (event: SocketMessageEvent) => {
      if (this.socket === socket) this.handle(event.data);
    };
    // A failed socket also closes: the retry is decided there.
    socket.onerror = () => undefined;
    socket.onclose = (event: SocketCloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      clearTimeout(this.connectTimer);
      this.retry(event.reason || `closed (${event.code})`);
    };
  }

  /** Gives up a socket that misbehaves (never opened) and retries with another session. */
  private drop(socket: WebSocketLike, why: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    socket.close();
    this.emit('error', new LizardsError('LZ_ERR_CLIENT_SOCKET', why));
    this.retry(why);
  }

  /**
   * On a new socket: acknowledged symbols resume from the cursor, new ones start with a snapshot; alerts are set
   * again.
   */
  private subscribeAll(): void {
    for (const message of this.alertBook.resend()) this.send(message);
    const resume = this.lastCursor === undefined ? [] : [...this.wanted].filter((s) => this.streaming.has(s));
    const fresh = [...this.wanted].filter((s) => !resume.includes(s));
    if (resume.length > 0) this.send({ type: 'subscribe', symbols: resume, since: this.lastCursor });
    if (fresh.length > 0) this.send({ type: 'subscribe', symbols: fresh });
  }

  private retry(reason: string, atLeastMs = 0): void {
    if (this.closing) return;
    clearTimeout(this.retryTimer);
    const attempt = this.attempt++;
    const delayMs = Math.max(atLeastMs, equalJitterDelay(attempt, this.opts.backoff, this.opts.random));
    this.setState('reconnecting', reason);
    this.emit('reconnecting', { attempt: attempt + 1, delayMs, reason });
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
  }

  private moveCursor(cursor: string): void {
    this.alertBook.advance(cursor);
    if (isAfter(cursor, this.lastCursor)) this.lastCursor = cursor;
  }

  private handle(raw: unknown): void {
    const decoded = decodeServerMessage(raw);
    if (!decoded.ok) {
      this.emit(
        'error',
        new LizardsError('LZ_ERR_CLIENT_BAD_MESSAGE', `unexpected message from the server: ${decoded.error}`),
      );
      return;
    }
    if (decoded.message) this.dispatch(decoded.message);
  }

  private dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case 'price_update':
        this.prices(msg);
        return;
      case 'stored':
        this.moveCursor(msg.cursor);
        this.emit('stored', { ticks: msg.ticks, cursor: msg.cursor });
        return;
      case 'subscribed': {
        // A healthy connection: the next loss starts the back-off from the beginning.
        this.attempt = 0;
        const { rejected } = msg;
        for (const s of msg.symbols) if (this.wanted.has(s)) this.streaming.add(s);
        for (const r of rejected) {
          const symbol = r.symbol.trim().toUpperCase();
          this.wanted.delete(symbol);
          this.streaming.delete(symbol);
        }
        this.emit('subscribed', { symbols: msg.symbols, rejected });
        return;
      }
      case 'unsubscribed':
        this.emit('unsubscribed', { symbols: msg.symbols });
        return;
      case 'error':
        if (msg.id !== undefined && this.alertBook.remove(msg.id)) {
          // The server keeps an earlier alert of that id when it refuses a replacement: gone on both sides.
          this.send({ type: 'alert_cancel', id: msg.id });
          this.emit('alert_refused', { id: msg.id, message: msg.message });
        }
        this.emit('error', new LizardsError('LZ_ERR_CLIENT_SERVER', msg.message));
        return;
      case 'alert_set':
        if (!this.alertBook.holds(msg)) return;
        this.alertBook.acknowledged(msg.id, msg.cursor);
        this.emit('alert_set', { id: msg.id, symbol: msg.symbol, condition: msg.condition });
        return;
      case 'alert_triggered': {
        if (!this.alertBook.holds(msg)) return;
        this.alertBook.remove(msg.id);
        const { type: _type, ...triggered } = msg;
        this.emit('alert_triggered', triggered);
        return;
      }
      case 'alert_cancelled':
        return;
      case 'stale':
        if (this.wanted.has(msg.symbol)) this.emit('stale', { symbol: msg.symbol, since: msg.since });
        return;
      case 'reconnect':
        // The server is shutting down and closes the socket next; the close starts the reconnect.
        this.setState('reconnecting', `server ${msg.reason}`);
        return;
    }
  }

  private prices(msg: Extract<ServerMessage, { type: 'price_update' }>): void {
    const snapshot = 'snapshot' in msg && msg.snapshot;
    const cursor = 'cursor' in msg ? msg.cursor : undefined;
    // The cursor counts what was received, also for symbols unsubscribed while the message was under way.
    if (cursor !== undefined) this.moveCursor(cursor);
    for (const [symbol, entry] of Object.entries(msg.data)) {
      if (!this.wanted.has(symbol)) continue;
      const price: LivePrice = {
        symbol,
        price: entry.price,
        timestamp: entry.timestamp,
        ...(entry.source !== undefined ? { source: entry.source } : {}),
      };
      // The decoder let through a snapshot, stored prices with their cursor, or provisional prices.
      if (snapshot) this.emit('snapshot', price);
      else if (cursor !== undefined) this.emit('price', { ...price, cursor });
      else this.emit('provisional', price);
    }
  }
}
