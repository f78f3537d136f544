import type { FastifyBaseLogger } from 'fastify';
import pLimit, { type LimitFunction } from 'p-limit';
import type {
  ClientMessage,
  ClientMessageOf,
  ClientMessageType,
  SubscribeMessage,
  UnsubscribeMessage,
} from '@lizards/contract';
import type { PriceRepository } from '../store/price-repository.js';
import { SYMBOL_PATTERN } from '../ticks/tick-schema.js';
import { Alerts } from './alerts.js';
import type { ClientConnection } from './client-connection.js';
import { decodeClientMessage } from './client-messages.js';
import type { HubMetrics } from './hub-metrics.js';
import type { SubscriptionIndex } from './subscription-index.js';
import type { SymbolActivity } from './symbol-activity.js';

export interface ClientProtocolOptions {
  repository: PriceRepository;
  metrics: HubMetrics;
  subscriptions: SubscriptionIndex<ClientConnection>;
  activity: SymbolActivity;
  /** The seq up to which the live stream has been dispatched. */
  liveCursor: () => string;
  /** The last provisional round pushed so far (0 without provisional prices). */
  provisionalRound: () => number;
  maxSymbols: number;
  /** Price alerts one connection may hold. */
  maxAlerts: number;
  maxMessageBytes: number;
  resumeMaxTicks: number;
  subscribeBurst: number;
  subscribePerSecond: number;
  /** Most store reads for clients (subscribe, snapshot, resume) at once: a lane of the read pool. */
  maxConcurrentReads: number;
  log: FastifyBaseLogger;
}

type Handler<M> = (client: ClientConnection, message: M) => Promise<void> | void;
type Handlers = { [K in ClientMessageType]: Handler<ClientMessageOf<K>> };

const symbolPattern = new RegExp(SYMBOL_PATTERN);

/**
 * What a client may ask of the hub: `subscribe` (answered with a snapshot of the latest prices, or with a
 * resume from `since`) and `unsubscribe`. Bad frames and messages get an `error` message and count as
 * protocol errors.
 */
export class ClientProtocol {
  private readonly reads: LimitFunction;
  /** One handler per message type of the contract's `clientMessageSchemas`. */
  private readonly handlers: Handlers = {
    subscribe: (client, message) => this.subscribe(client, message),
    unsubscribe: (client, message) => this.unsubscribe(client, message),
    alert: (client, message) => this.alerts.handle(client, message),
    alert_cancel: (client, message) => this.alerts.handle(client, message),
  };
  /** The connections' price alerts: the hub feeds them the live stored ticks and drops a connection's at close. */
  readonly alerts: Alerts;

  constructor(private readonly opts: ClientProtocolOptions) {
    this.reads = pLimit(opts.maxConcurrentReads);
    this.alerts = new Alerts({
      repository: opts.repository,
      liveCursor: opts.liveCursor,
      read: (client, query) => this.read(client, query),
      maxPerConnection: opts.maxAlerts,
      catchUpMaxTicks: opts.resumeMaxTicks,
      perSecond: opts.subscribePerSecond,
      log: opts.log,
    });
  }

  /** One frame from `client`. */
  async handle(client: ClientConnection, raw: Buffer, isBinary: boolean): Promise<void> {
    if (!client.isOpen) return;
    if (raw.length > this.opts.maxMessageBytes) {
      client.protocolError(`Message too large: at most ${this.opts.maxMessageBytes} bytes`);
      return;
    }
    if (isBinary) {
      client.protocolError('Binary frames are not supported; send JSON text');
      return;
    }
    const decoded = decodeClientMessage(raw.toString('utf8'));
    if (!decoded.ok) {
      client.protocolError(decoded.error, decoded.id);
      return;
    }
    const handler = this.handlers[decoded.message.type] as Handler<ClientMessage>;
    await handler(client, decoded.message);
  }

  /** A store read for a client, in the lane; skipped if the client has gone by its turn. */
  private read<T>(client: ClientConnection, query: () => Promise<T>): Promise<T> {
    return this.reads(() => (client.isOpen ? query() : Promise.reject(new Error('client closed before its read'))));
  }

  private async subscribe(client: ClientConnection, msg: SubscribeMessage): Promise<void> {
    if (!client.allowSubscribe()) {
      client.protocolError(
        `Too many subscribe requests: at most ${this.opts.subscribeBurst} at once ` +
          `and ${this.opts.subscribePerSecond} per second after`,
      );
      return;
    }
    const subscriptions = this.opts.subscriptions;
    // Lower case is accepted ("aapl" is AAPL); rejections name the symbol as the client wrote it.
    const asWritten = new Map<string, string>();
    for (const s of msg.symbols) if (!asWritten.has(s.trim().toUpperCase())) asWritten.set(s.trim().toUpperCase(), s);
    const requested = [...asWritten.keys()];
    const added = requested.filter((s) => !subscriptions.has(client, s));
    if (subscriptions.symbolsOf(client).size + added.length > this.opts.maxSymbols) {
      client.protocolError(`Too many symbols: at most ${this.opts.maxSymbols} per connection`);
      return;
    }
    const wellFormed = requested.filter((s) => symbolPattern.test(s));
    const known = await this.read(client, () => this.opts.repository.knownSymbols(wellFormed));
    const rejected: { symbol: string; reason: 'invalid symbol' | 'unknown symbol' }[] = [];
    const accepted: string[] = [];
    for (const s of requested) {
      if (!symbolPattern.test(s)) rejected.push({ symbol: asWritten.get(s)!, reason: 'invalid symbol' });
      else if (!known.has(s)) rejected.push({ symbol: asWritten.get(s)!, reason: 'unknown symbol' });
      else accepted.push(s);
    }
    for (const r of rejected) client.sendError(`Invalid stock symbol: ${r.symbol}`);
    if (!client.isOpen) return;

    // Hold live ticks from the moment the symbols are indexed until the store read below is sent,
    // then let through only what the read did not cover.
    client.beginHold();
    try {
      for (const s of accepted) {
        if (!subscriptions.add(client, s)) continue;
        client.watch(s, this.opts.provisionalRound());
        this.opts.metrics.subscriptions.inc();
      }
      client.sendJson({ type: 'subscribed', symbols: accepted, rejected });
      if (accepted.length === 0) return;
      try {
        if (msg.since !== undefined) await this.resume(client, accepted, msg.since);
        else
          await this.snapshot(
            client,
            accepted.filter((s) => added.includes(s)),
          );
      } catch (err) {
        // Without the store read, held live ticks would jump the client's cursor over what it never got: the symbols
        // are dropped again (held ticks with them), and the error asks the client to subscribe again.
        const dropped = accepted.filter((s) => this.opts.subscriptions.remove(client, s));
        this.opts.metrics.subscriptions.dec(dropped.length);
        client.forget(accepted);
        throw err;
      }
    } finally {
      client.endHold();
    }
  }

  private async snapshot(client: ClientConnection, symbols: string[]): Promise<void> {
    if (symbols.length === 0) return;
    const latest = await this.read(client, () => this.opts.repository.latest(symbols));
    const fresh = latest.filter((t) => this.opts.subscriptions.has(client, t.symbol));
    client.deliverSnapshot(fresh);
    for (const t of fresh) client.markSent(t.symbol, t.seq);
    this.opts.activity.known(fresh);
  }

  /** The ticks of `symbols` committed after `since` and already past the live stream, in seq order. */
  private async resume(client: ClientConnection, symbols: string[], since: string): Promise<void> {
    const upTo = this.opts.liveCursor();
    // The client already has everything up to `since` (perhaps from an instance that is ahead of this one).
    for (const s of symbols) client.markSent(s, since);
    if (BigInt(since) >= BigInt(upTo)) return;
    const limit = this.opts.resumeMaxTicks;
    const query = { after: since, upTo, symbols, limit: limit + 1 };
    const missed = await this.read(client, () => this.opts.repository.ticksAfter(query));
    if (missed.length > limit) {
      client.sendError(
        `Cannot resume from ${since}: more than ${limit} ticks missed; sending the latest prices instead`,
      );
      await this.snapshot(client, symbols);
      for (const s of symbols) client.markSent(s, upTo);
      return;
    }
    client.deliver(missed);
  }

  private unsubscribe(client: ClientConnection, msg: UnsubscribeMessage): void {
    const requested = new Set(msg.symbols.map((s) => s.trim().toUpperCase()));
    const symbols = [...requested].filter((s) => this.opts.subscriptions.remove(client, s));
    this.opts.metrics.subscriptions.dec(symbols.length);
    client.forget(symbols);
    client.sendJson({ type: 'unsubscribed', symbols });
  }
}
