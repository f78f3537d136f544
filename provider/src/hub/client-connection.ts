import type { WebSocket } from 'ws';
import { seqAfter, type StoredTick } from '../ticks/tick-schema.js';
import type { HubMetrics } from './hub-metrics.js';
import { UpdateEncoder, type EncodedUpdate } from './update-encoder.js';

export interface ClientLimits {
  /** Above this many bytes waiting in the socket, updates are conflated (latest per symbol). */
  sendBufferBytes: number;
  /** A client over its bound this long is disconnected. */
  slowClientTimeoutMs: number;
  /** Protocol errors before the socket is closed with 1008. */
  maxErrors: number;
}

/** The connection under the WebSocket, for writing ready-made frames (see `deliver`). */
export interface FrameStream {
  write(chunk: Buffer): boolean;
}

/**
 * One WebSocket client: its subscriptions, the last seq it got per symbol, and a send path that
 * never blocks anybody else. While the socket's own buffer is over its bound, new prices replace
 * older unsent ones (latest per symbol); a client that stays over the bound is cut off.
 */
export class ClientConnection {
  readonly symbols = new Set<string>();
  /** Highest seq sent per symbol (canonical decimal): anything at or below it is a duplicate. */
  private readonly sentSeq = new Map<string, string>();
  private readonly conflated = new Map<string, StoredTick>();
  private readonly stream: FrameStream | undefined;
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
    stream?: FrameStream,
  ) {
    // Frames go straight to the connection only when ws adds nothing to them (no permessage-deflate);
    // ws itself writes synchronously then, so its frames and these keep their order.
    this.stream = socket.extensions === '' ? stream : undefined;
  }

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
    const s = String(BigInt(seq));
    const last = this.sentSeq.get(symbol);
    if (last === undefined || seqAfter(s, last)) this.sentSeq.set(symbol, s);
  }

  forget(symbols: string[]): void {
    for (const s of symbols) {
      this.symbols.delete(s);
      this.sentSeq.delete(s);
      this.conflated.delete(s);
      if (this.holdBuffer) this.holdBuffer = this.holdBuffer.filter((t) => t.symbol !== s);
    }
  }

  /** Live ticks for this client, in seq order; `encoder` is shared by every client of one fan-out round. */
  push(ticks: StoredTick[], encoder: UpdateEncoder): void {
    if (this.holdBuffer) {
      // Only this client's symbols: a hold can last a store read, while every symbol's ticks go by.
      for (const t of ticks) if (this.symbols.has(t.symbol)) this.holdBuffer.push(t);
      return;
    }
    this.deliver(ticks, encoder);
  }

  /**
   * Sends ticks as price_update messages; a symbol appears once per message, so each message's
   * cursor is exact. Once the socket is over its bound the rest is conflated, so the socket never
   * holds more than the bound plus one message. Without an encoder, one of its own serializes
   * (and counts) what this call sends.
   */
  deliver(ticks: StoredTick[], encoder?: UpdateEncoder): void {
    if (this.closed) return;
    // The list itself when all of it is new to this client, so clients of one round share it.
    const fresh = ticks.every((t) => this.isFresh(t)) ? ticks : ticks.filter((t) => this.isFresh(t));
    if (fresh.length === 0) return;
    if (this.congestedSince !== undefined) {
      this.conflate(fresh);
      return;
    }
    const own = encoder ?? new UpdateEncoder(this.metrics, false, this.now);
    try {
      const updates = own.encode(fresh);
      const frames = this.stream && this.socket.readyState === this.socket.OPEN ? own.frames(updates) : undefined;
      if (frames && this.socket.bufferedAmount + frames.length <= this.limits.sendBufferBytes) {
        // The usual case: everything fits under the bound, so all of it leaves in one write of shared bytes.
        for (const t of fresh) this.sentSeq.set(t.symbol, t.seq);
        this.stream!.write(frames);
        own.sent(updates);
      } else {
        for (let i = 0; i < updates.length; i++) {
          if (this.overBound()) {
            this.conflate(updates.slice(i).flatMap((u) => u.ticks));
            return;
          }
          const update = updates[i]!;
          for (const t of update.ticks) this.sentSeq.set(t.symbol, t.seq);
          this.sendUpdate(update, own);
        }
      }
      if (this.overBound()) this.startCongestion();
    } finally {
      if (!encoder) own.flush();
    }
  }

  /** The latest stored prices, marked as a snapshot (no cursor). */
  deliverSnapshot(ticks: StoredTick[]): void {
    const encoder = new UpdateEncoder(this.metrics, true, this.now);
    this.deliver(ticks, encoder);
    encoder.flush();
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

  private isFresh(t: StoredTick): boolean {
    if (!this.symbols.has(t.symbol)) return false;
    const last = this.sentSeq.get(t.symbol);
    return last === undefined || seqAfter(t.seq, last);
  }

  private sendUpdate(update: EncodedUpdate, encoder: UpdateEncoder): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(update.bytes, { binary: false });
    encoder.sent([update]);
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
    const pending = [...this.conflated.values()].sort((a, b) => (seqAfter(a.seq, b.seq) ? 1 : -1));
    this.conflated.clear();
    this.deliver(pending);
  }
}
