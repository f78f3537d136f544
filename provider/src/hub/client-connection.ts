import type { WebSocket } from 'ws';
import type { StoredTick } from '../ticks/tick-schema.js';
import type { HubMetrics } from './hub-metrics.js';

export interface ClientLimits {
  /** Above this many bytes waiting in the socket, updates are conflated (latest per symbol). */
  sendBufferBytes: number;
  /** A client over its bound this long is disconnected. */
  slowClientTimeoutMs: number;
  /** Protocol errors before the socket is closed with 1008. */
  maxErrors: number;
}

type PriceEntry = { price: number; timestamp: string; source: string };

/** `2024-09-14T12:34:56Z` as in the contract; milliseconds only when there are some. */
export function contractTimestamp(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

function entry(t: StoredTick): PriceEntry {
  return { price: t.price, timestamp: contractTimestamp(t.timestamp), source: t.source };
}

/**
 * One WebSocket client: its subscriptions, the last seq it got per symbol, and a send path that
 * never blocks anybody else. While the socket's own buffer is over its bound, new prices replace
 * older unsent ones (latest per symbol); a client that stays over the bound is cut off.
 */
export class ClientConnection {
  readonly symbols = new Set<string>();
  /** Highest seq sent per symbol: anything at or below it is a duplicate. */
  private readonly sentSeq = new Map<string, bigint>();
  private readonly conflated = new Map<string, StoredTick>();
  private congestedSince: number | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  /** While a catch-up read runs, live ticks wait here so nothing overtakes or repeats. */
  private holdBuffer: StoredTick[] | undefined;
  private holds = 0;
  private errors = 0;
  alive = true;
  closed = false;
  /** Client messages are handled one after the other. */
  queue: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: WebSocket,
    readonly id: string,
    private readonly limits: ClientLimits,
    private readonly metrics: HubMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  sendJson(message: unknown): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    const text = JSON.stringify(message);
    this.socket.send(text);
    this.metrics.messagesPushed.inc();
    this.metrics.bytesPushed.inc(Buffer.byteLength(text));
  }

  sendError(message: string): void {
    this.sendJson({ type: 'error', message });
  }

  /** Counts a protocol error; past the limit the connection is closed with 1008 (policy violation). */
  protocolError(message: string): void {
    this.metrics.protocolErrors.inc();
    this.sendError(message);
    if (++this.errors >= this.limits.maxErrors) this.close(1008, 'too many protocol errors', 'abuse');
  }

  beginHold(): void {
    this.holds++;
    this.holdBuffer ??= [];
  }

  endHold(): void {
    if (--this.holds > 0) return;
    const held = this.holdBuffer ?? [];
    this.holdBuffer = undefined;
    this.deliver(held);
  }

  /** Marks what a snapshot or catch-up already gave the client for `symbol`. */
  markSent(symbol: string, seq: string): void {
    const s = BigInt(seq);
    if ((this.sentSeq.get(symbol) ?? -1n) < s) this.sentSeq.set(symbol, s);
  }

  forget(symbols: string[]): void {
    for (const s of symbols) {
      this.symbols.delete(s);
      this.sentSeq.delete(s);
      this.conflated.delete(s);
      if (this.holdBuffer) this.holdBuffer = this.holdBuffer.filter((t) => t.symbol !== s);
    }
  }

  /** Live ticks for this client, in seq order. */
  push(ticks: StoredTick[]): void {
    if (this.holdBuffer) {
      this.holdBuffer.push(...ticks);
      return;
    }
    this.deliver(ticks);
  }

  /**
   * Sends ticks as price_update messages; a symbol appears once per message, so each message's
   * cursor is exact. Once the socket is over its bound the rest is conflated, so the socket never
   * holds more than the bound plus one message.
   */
  deliver(ticks: StoredTick[], extra: { snapshot?: boolean } = {}): void {
    const fresh = ticks.filter((t) => this.symbols.has(t.symbol) && BigInt(t.seq) > (this.sentSeq.get(t.symbol) ?? -1n));
    if (fresh.length === 0 || this.closed) return;
    if (this.congestedSince !== undefined) {
      this.conflate(fresh);
      return;
    }
    let batch: StoredTick[] = [];
    const sentAt = this.now();
    const send = (): boolean => {
      if (this.overBound()) return false;
      const data: Record<string, PriceEntry> = {};
      let maxSeq = 0n;
      for (const t of batch) {
        data[t.symbol] = entry(t);
        const seq = BigInt(t.seq);
        if (seq > maxSeq) maxSeq = seq;
        this.sentSeq.set(t.symbol, seq);
        if (t.publishedAt && !extra.snapshot) this.metrics.tickToPush.observe(Math.max(0, sentAt - t.publishedAt.getTime()) / 1000);
      }
      this.sendJson(
        extra.snapshot ? { type: 'price_update', snapshot: true, data } : { type: 'price_update', data, cursor: String(maxSeq) },
      );
      batch = [];
      return true;
    };
    for (let i = 0; i < fresh.length; i++) {
      const t = fresh[i]!;
      if (batch.some((b) => b.symbol === t.symbol) && !send()) {
        this.conflate([...batch, ...fresh.slice(i)]);
        return;
      }
      batch.push(t);
    }
    if (!send()) this.conflate(batch);
    else if (this.overBound()) this.startCongestion();
  }

  close(code: number, reason: string, dropReason?: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.drainTimer);
    if (dropReason) this.metrics.dropped.inc({ reason: dropReason });
    if (code === 1006) return this.socket.terminate();
    this.socket.close(code, reason);
    // A peer that no longer reads never answers the close handshake.
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  dispose(): void {
    this.closed = true;
    clearInterval(this.drainTimer);
  }

  private overBound(): boolean {
    return this.socket.bufferedAmount > this.limits.sendBufferBytes;
  }

  private conflate(ticks: StoredTick[]): void {
    for (const t of ticks) {
      if (this.conflated.has(t.symbol)) this.metrics.conflated.inc();
      this.conflated.set(t.symbol, t);
    }
    this.startCongestion();
  }

  private startCongestion(): void {
    this.congestedSince ??= this.now();
    this.drainTimer ??= setInterval(() => this.checkDrain(), 20);
  }

  private checkDrain(): void {
    if (this.closed) return;
    if (this.overBound()) {
      if (this.now() - (this.congestedSince ?? this.now()) > this.limits.slowClientTimeoutMs) {
        this.close(1006, 'slow consumer', 'slow_consumer');
      }
      return;
    }
    clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    this.congestedSince = undefined;
    const pending = [...this.conflated.values()].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
    this.conflated.clear();
    this.deliver(pending);
  }
}
