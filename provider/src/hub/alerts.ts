import type { FastifyBaseLogger } from 'fastify';
import type { AlertCancelMessage, AlertMessage } from '@lizards/contract';
import { TokenBucket } from 'limiter';
import type { PriceRepository } from '../store/price-repository.js';
import { SYMBOL_PATTERN, type StoredTick } from '../ticks/tick-schema.js';
import { AlertTest } from './alert-condition.js';
import type { AlertCondition } from '@lizards/contract';
import { conditionOf } from './alert-messages.js';
import type { ClientConnection } from './client-connection.js';
import { contractTimestamp } from './update-encoder.js';

export interface AlertsOptions {
  repository: PriceRepository;
  /** The seq up to which the live stream has been dispatched (and so checked against every alert). */
  liveCursor: () => string;
  /** A store read for `client` in the hub's read lane. */
  read: <T>(client: ClientConnection, query: () => Promise<T>) => Promise<T>;
  /** Alerts one connection may hold. */
  maxPerConnection: number;
  /** Most ticks checked when an alert resumes from a cursor. */
  catchUpMaxTicks: number;
  /** Alert requests per second once a connection has used its burst (twice as many as it may hold). */
  perSecond: number;
  log: FastifyBaseLogger;
}

interface Alert {
  readonly id: string;
  readonly symbol: string;
  readonly client: ClientConnection;
  readonly condition: AlertCondition;
  readonly test: AlertTest;
  /** Live ticks that arrived while the catch-up read ran; checked once it is done. */
  held: StoredTick[] | undefined;
}

interface Book {
  readonly alerts: Map<string, Alert>;
  readonly requests: TokenBucket;
}

const symbolPattern = new RegExp(SYMBOL_PATTERN);

/**
 * Price alerts, per connection: each is checked against the stored ticks of its symbol in seq order as the live
 * stream dispatches them (never provisional ones), fires once with `alert_triggered`, and is then gone. An alert
 * set with `since` first checks the stored ticks after that cursor, so a client that reconnects and sets its alerts
 * again with the cursor it had gets the triggers it missed while away. The alerts of a connection are dropped when
 * it closes: the client keeps them and sets them again on the next socket, on any provider instance.
 */
export class Alerts {
  private readonly bySymbol = new Map<string, Set<Alert>>();
  private readonly books = new Map<ClientConnection, Book>();

  constructor(private readonly opts: AlertsOptions) {}

  handle(client: ClientConnection, msg: AlertMessage | AlertCancelMessage): Promise<void> {
    if (msg.type === 'alert_cancel') {
      this.remove(this.books.get(client)?.alerts.get(msg.id));
      client.sendJson({ type: 'alert_cancelled', id: msg.id });
      return Promise.resolve();
    }
    return this.set(client, msg).catch((err: unknown) => {
      if (!client.isOpen) return this.drop(client);
      this.opts.log.error({ err, client: client.id }, 'alert failed');
      client.sendError(`Alert ${msg.id} not set: the store could not be read; please set it again`, msg.id);
    });
  }

  /** Live stored ticks, in seq order, each once. */
  check(ticks: StoredTick[]): void {
    if (this.bySymbol.size === 0) return;
    for (const t of ticks) {
      const alerts = this.bySymbol.get(t.symbol);
      if (!alerts) continue;
      for (const a of alerts) {
        if (a.held) a.held.push(t);
        else this.test(a, t);
      }
    }
  }

  /** Forgets a closed connection's alerts. */
  drop(client: ClientConnection): void {
    const book = this.books.get(client);
    if (!book) return;
    for (const a of book.alerts.values()) this.unindex(a);
    this.books.delete(client);
  }

  private async set(client: ClientConnection, msg: AlertMessage): Promise<void> {
    const book = this.bookOf(client);
    // A refused alert (an `error` with its id) leaves an earlier one of the same id in place; an accepted one
    // replaces it.
    const refuse = (message: string) => client.protocolError(message, msg.id);
    if (book.alerts.size - (book.alerts.has(msg.id) ? 1 : 0) >= this.opts.maxPerConnection) {
      return refuse(`Too many alerts: at most ${this.opts.maxPerConnection} per connection`);
    }
    if (!book.requests.tryRemoveTokens(1)) {
      const { bucketSize } = book.requests;
      const { perSecond } = this.opts;
      return refuse(`Too many alert requests: at most ${bucketSize} at once and ${perSecond} per second after`);
    }
    const symbol = msg.symbol.trim().toUpperCase();
    if (!symbolPattern.test(symbol)) return refuse(`Invalid stock symbol: ${msg.symbol}`);
    const known = await this.opts.read(client, () => this.opts.repository.knownSymbols([symbol]));
    if (!client.isOpen) return this.drop(client);
    if (!known.has(symbol)) return client.sendError(`Invalid stock symbol: ${msg.symbol}`, msg.id);

    const condition = conditionOf(msg);
    const upTo = this.opts.liveCursor();
    const catchUp = msg.since !== undefined && BigInt(msg.since) < BigInt(upTo);
    const test = new AlertTest(condition);
    const alert: Alert = { id: msg.id, symbol, client, condition, test, held: catchUp ? [] : undefined };
    this.remove(book.alerts.get(alert.id));
    book.alerts.set(alert.id, alert);
    let set = this.bySymbol.get(symbol);
    if (!set) this.bySymbol.set(symbol, (set = new Set()));
    set.add(alert);
    if (catchUp) {
      const limit = this.opts.catchUpMaxTicks + 1;
      const missed = await this.opts
        .read(client, () => this.opts.repository.ticksAfter({ after: msg.since!, upTo, symbols: [symbol], limit }))
        .catch((err: unknown) => {
          // Not set: a half-set alert would hold its live ticks for ever.
          this.remove(alert);
          throw err;
        });
      if (!client.isOpen) return this.drop(client);
      for (const t of missed.slice(0, this.opts.catchUpMaxTicks)) if (this.test(alert, t)) return;
      if (missed.length > this.opts.catchUpMaxTicks) {
        const last = missed[this.opts.catchUpMaxTicks - 1]!.seq;
        client.sendError(
          `Alert ${alert.id}: more than ${this.opts.catchUpMaxTicks} ticks of ${symbol} missed; ` +
            `those after ${last} up to ${upTo} were not checked`,
        );
      }
    }
    // Checked against every stored tick up to `upTo`: a later `since` for this alert may start there.
    client.sendJson({ type: 'alert_set', id: alert.id, symbol, condition, cursor: upTo });
    const held = alert.held ?? [];
    alert.held = undefined;
    for (const t of held) if (this.test(alert, t)) return;
  }

  /** Feeds `tick` to the alert; true when it fired (and is gone). */
  private test(alert: Alert, tick: StoredTick): boolean {
    const result = alert.test.check(tick);
    if (!result.fired) return false;
    this.remove(alert);
    alert.client.sendJson({
      type: 'alert_triggered',
      id: alert.id,
      symbol: alert.symbol,
      price: tick.price,
      condition: alert.condition,
      seq: tick.seq,
      timestamp: contractTimestamp(tick.timestamp),
      ...(result.reference
        ? { reference: { price: result.reference.price, timestamp: contractTimestamp(result.reference.timestamp) } }
        : {}),
    });
    return true;
  }

  private bookOf(client: ClientConnection): Book {
    let book = this.books.get(client);
    if (!book) {
      // Room to set every alert twice at once: a client resuming its alerts sends them all together.
      const burst = 2 * this.opts.maxPerConnection;
      const requests = new TokenBucket({
        bucketSize: burst,
        tokensPerInterval: this.opts.perSecond,
        interval: 'second',
      });
      // A new bucket starts empty.
      requests.content = burst;
      this.books.set(client, (book = { alerts: new Map(), requests }));
    }
    return book;
  }

  private remove(alert: Alert | undefined): void {
    if (!alert) return;
    const book = this.books.get(alert.client);
    if (book?.alerts.get(alert.id) === alert) book.alerts.delete(alert.id);
    this.unindex(alert);
  }

  private unindex(alert: Alert): void {
    const set = this.bySymbol.get(alert.symbol);
    if (!set?.delete(alert)) return;
    if (set.size === 0) this.bySymbol.delete(alert.symbol);
  }
}
