import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { PriceRepository } from '../store/price-repository.js';
import { SYMBOL_PATTERN, type StoredTick } from '../ticks/tick-schema.js';
import { ClientConnection, type ClientLimits, type FrameStream } from './client-connection.js';
import { decodeClientMessage, type SubscribeMessage, type UnsubscribeMessage } from './client-messages.js';
import type { HubMetrics } from './hub-metrics.js';
import { UpdateEncoder } from './update-encoder.js';

export interface HubOptions extends ClientLimits {
  repository: PriceRepository;
  metrics: HubMetrics;
  log: FastifyBaseLogger;
  /** The seq up to which the live stream has been dispatched. */
  liveCursor: () => string;
  maxSymbols: number;
  maxMessageBytes: number;
  pingIntervalMs: number;
  resumeMaxTicks: number;
  staleAfterMs: number;
  now?: () => number;
}

const symbolPattern = new RegExp(SYMBOL_PATTERN);
/** Longest stretch of a fan-out pass before it lets other I/O run. */
const ROUND_SLICE_MS = 2;

interface SymbolActivity {
  /** Wall-clock time of the last tick seen for the symbol. */
  lastAt: number;
  lastTimestamp: Date;
  staleNotified: boolean;
}

/** The WebSocket hub: connections, subscriptions, snapshots, resume, and fan-out of the live stream. */
export class Hub {
  private readonly clients = new Set<ClientConnection>();
  private readonly bySymbol = new Map<string, Set<ClientConnection>>();
  private readonly activity = new Map<string, SymbolActivity>();
  /** Live ticks not yet handed to every client; `logStart` is the absolute position of `log[0]`. */
  private log: StoredTick[] = [];
  private logStart = 0;
  /** Per client, the absolute log position up to which it has been handed the live ticks. */
  private readonly positions = new Map<ClientConnection, number>();
  private sweeping: Promise<void> | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: HubOptions) {
    this.now = opts.now ?? Date.now;
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  /** Largest number of bytes waiting in any client's socket. */
  get maxBufferedAmount(): number {
    let max = 0;
    for (const c of this.clients) max = Math.max(max, c.socket.bufferedAmount);
    return max;
  }

  start(): void {
    this.pingTimer = setInterval(() => this.heartbeat(), this.opts.pingIntervalMs);
    this.staleTimer = setInterval(() => this.checkStale(), Math.max(250, Math.min(5000, this.opts.staleAfterMs / 4)));
  }

  /** Sends every client a reconnect hint and closes it (graceful shutdown). */
  shutdown(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.staleTimer);
    for (const c of this.clients) {
      c.sendJson({ type: 'reconnect', reason: 'shutdown' });
      c.close(1001, 'server shutting down');
    }
  }

  /** `stream` is the connection under the WebSocket, for writing ready-made frames. */
  attach(socket: WebSocket, stream?: FrameStream): ClientConnection {
    const client = new ClientConnection(socket, randomUUID(), this.opts, this.opts.metrics, this.now, stream);
    this.clients.add(client);
    this.positions.set(client, this.logEnd);
    this.opts.metrics.connections.inc();
    socket.on('pong', () => (client.alive = true));
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      client.queue = client.queue
        .then(() => this.onMessage(client, raw, isBinary))
        .catch((err: unknown) => {
          this.opts.log.error({ err, client: client.id }, 'websocket message failed');
          client.sendError('Internal error; please retry');
        });
    });
    socket.on('error', (err) => this.opts.log.debug({ err, client: client.id }, 'websocket error'));
    socket.on('close', () => this.detach(client));
    return client;
  }

  /**
   * Live ticks, in seq order, each exactly once. They join the hub's log, and a sweep goes over the
   * clients handing each everything it has not had yet in one write; so a client's turn brings all
   * that arrived until then, and a tick waits at most one pass. A pass yields to I/O every few
   * milliseconds (the worker's commits and client messages are not held up behind a large fan-out).
   */
  dispatch(ticks: StoredTick[]): void {
    const at = this.now();
    for (const t of ticks) {
      this.activity.set(t.symbol, { lastAt: at, lastTimestamp: t.timestamp, staleNotified: false });
      this.log.push(t);
    }
    this.sweeping ??= this.sweep()
      .catch((err: unknown) => this.opts.log.error({ err }, 'live fan-out failed'))
      .finally(() => (this.sweeping = undefined));
  }

  private get logEnd(): number {
    return this.logStart + this.log.length;
  }

  private async sweep(): Promise<void> {
    while (this.log.length > 0) {
      const encoder = new UpdateEncoder(this.opts.metrics, false, this.now);
      // Clients at the same place get the very same list (and so the same serialized messages).
      const slices = new Map<string, StoredTick[]>();
      let sliceStart = performance.now();
      let visited = 0;
      // Clients attached during the pass start at the log's end: what is before it they get from their
      // snapshot or resume read (all of it is at or below the live cursor).
      for (const [client, from] of [...this.positions]) {
        const to = this.logEnd;
        if (from >= to || !this.positions.has(client)) continue;
        this.positions.set(client, to);
        if (client.symbols.size > 0) {
          const key = `${from}:${to}`;
          let list = slices.get(key);
          if (!list) slices.set(key, (list = this.log.slice(from - this.logStart, to - this.logStart)));
          client.push(list, encoder);
        }
        if (++visited % 32 === 0 && performance.now() - sliceStart > ROUND_SLICE_MS) {
          encoder.flush();
          await new Promise((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
      encoder.flush();
      // What every client has passed can go.
      let passed = this.logEnd;
      for (const p of this.positions.values()) if (p < passed) passed = p;
      this.log = this.log.slice(passed - this.logStart);
      this.logStart = passed;
    }
  }

  private detach(client: ClientConnection): void {
    if (!this.clients.delete(client)) return;
    this.positions.delete(client);
    client.dispose();
    this.opts.metrics.connections.dec();
    this.unindex(client, [...client.symbols]);
  }

  private async onMessage(client: ClientConnection, raw: Buffer, isBinary: boolean): Promise<void> {
    if (client.closed) return;
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
      client.protocolError(decoded.error);
      return;
    }
    if (decoded.message.type === 'subscribe') await this.subscribe(client, decoded.message);
    else this.unsubscribe(client, decoded.message);
  }

  private async subscribe(client: ClientConnection, msg: SubscribeMessage): Promise<void> {
    // Lower case is accepted ("aapl" is AAPL); rejections name the symbol as the client wrote it.
    const asWritten = new Map<string, string>();
    for (const s of msg.symbols) if (!asWritten.has(s.trim().toUpperCase())) asWritten.set(s.trim().toUpperCase(), s);
    const requested = [...asWritten.keys()];
    const added = requested.filter((s) => !client.symbols.has(s));
    if (client.symbols.size + added.length > this.opts.maxSymbols) {
      client.protocolError(`Too many symbols: at most ${this.opts.maxSymbols} per connection`);
      return;
    }
    const wellFormed = requested.filter((s) => symbolPattern.test(s));
    const known = await this.opts.repository.knownSymbols(wellFormed);
    const rejected: { symbol: string; reason: string }[] = [];
    const accepted: string[] = [];
    for (const s of requested) {
      if (!symbolPattern.test(s)) rejected.push({ symbol: asWritten.get(s)!, reason: 'invalid symbol' });
      else if (!known.has(s)) rejected.push({ symbol: asWritten.get(s)!, reason: 'unknown symbol' });
      else accepted.push(s);
    }
    for (const r of rejected) client.sendError(`Invalid stock symbol: ${r.symbol}`);
    if (client.closed) return;

    // Hold live ticks from the moment the symbols are indexed until the store read below is sent,
    // then let through only what the read did not cover.
    client.beginHold();
    try {
      for (const s of accepted) {
        if (client.symbols.has(s)) continue;
        client.symbols.add(s);
        let set = this.bySymbol.get(s);
        if (!set) this.bySymbol.set(s, (set = new Set()));
        set.add(client);
        this.opts.metrics.subscriptions.inc();
      }
      client.sendJson({ type: 'subscribed', symbols: accepted, rejected });
      if (accepted.length === 0) return;
      if (msg.since !== undefined) await this.resume(client, accepted, msg.since);
      else await this.snapshot(client, accepted.filter((s) => added.includes(s)));
    } finally {
      client.endHold();
    }
  }

  private async snapshot(client: ClientConnection, symbols: string[]): Promise<void> {
    if (symbols.length === 0) return;
    const latest = await this.opts.repository.latest(symbols);
    const live = client.symbols;
    const fresh = latest.filter((t) => live.has(t.symbol));
    client.deliverSnapshot(fresh);
    const at = this.now();
    for (const t of fresh) {
      client.markSent(t.symbol, t.seq);
      if (!this.activity.has(t.symbol)) this.activity.set(t.symbol, { lastAt: at, lastTimestamp: t.timestamp, staleNotified: false });
    }
  }

  /** The ticks of `symbols` committed after `since` and already past the live stream, in seq order. */
  private async resume(client: ClientConnection, symbols: string[], since: string): Promise<void> {
    const upTo = this.opts.liveCursor();
    // The client already has everything up to `since` (perhaps from an instance that is ahead of this one).
    for (const s of symbols) client.markSent(s, since);
    if (BigInt(since) >= BigInt(upTo)) return;
    const missed = await this.opts.repository.ticksAfter({ after: since, upTo, symbols, limit: this.opts.resumeMaxTicks + 1 });
    if (missed.length > this.opts.resumeMaxTicks) {
      client.sendError(`Cannot resume from ${since}: more than ${this.opts.resumeMaxTicks} ticks missed; sending the latest prices instead`);
      await this.snapshot(client, symbols);
      for (const s of symbols) client.markSent(s, upTo);
      return;
    }
    client.deliver(missed);
  }

  private unsubscribe(client: ClientConnection, msg: UnsubscribeMessage): void {
    const symbols = [...new Set(msg.symbols.map((s) => s.trim().toUpperCase()))].filter((s) => client.symbols.has(s));
    this.unindex(client, symbols);
    client.forget(symbols);
    client.sendJson({ type: 'unsubscribed', symbols });
  }

  private unindex(client: ClientConnection, symbols: string[]): void {
    for (const s of symbols) {
      const set = this.bySymbol.get(s);
      if (!set?.delete(client)) continue;
      this.opts.metrics.subscriptions.dec();
      if (set.size === 0) this.bySymbol.delete(s);
    }
  }

  private heartbeat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.close(1006, 'no pong', 'dead');
        this.detach(c);
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }

  private checkStale(): void {
    const at = this.now();
    for (const [symbol, subscribers] of this.bySymbol) {
      const a = this.activity.get(symbol);
      if (!a || a.staleNotified || at - a.lastAt < this.opts.staleAfterMs) continue;
      a.staleNotified = true;
      for (const c of subscribers) c.sendJson({ type: 'stale', symbol, since: a.lastTimestamp.toISOString() });
    }
  }
}
