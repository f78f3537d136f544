import { TokenBucket } from 'limiter';
import type { WebSocket } from 'ws';
import type { ServerMessage } from '@lizards/contract';
import { seqAfter, type StoredTick } from '../ticks/tick-schema.js';
import type { HubMetrics } from './hub-metrics.js';
import type { CommittedTick, ProvisionalTick } from './provisional-ticks.js';
import type { RawFrameWriter } from './raw-frame-writer.js';
import { UpdateEncoder, type EncodedUpdate } from './update-encoder.js';

export interface ClientLimits {
  /** Above this many bytes waiting in the socket, updates are conflated (latest per symbol). */
  sendBufferBytes: number;
  /** A client over its bound this long is disconnected. */
  slowClientTimeoutMs: number;
  /** Protocol errors before the socket is closed with 1008. */
  maxErrors: number;
  /** Client messages waiting to be handled (the one being handled included); one more closes the socket with 1008. */
  maxQueuedMessages: number;
  /** Subscribe requests (with or without `since`) allowed at once, and per second after that. */
  subscribeBurst: number;
  subscribePerSecond: number;
}

type HeldTick = CommittedTick | ProvisionalTick;
const isCommitted = (t: HeldTick): t is CommittedTick => 'seq' in t;

/**
 * One WebSocket client: its subscriptions, the last seq it got per symbol, and a send path that
 * never blocks anybody else. While the socket's own buffer is over its bound, new prices replace
 * older unsent ones (latest per symbol); a client that stays over the bound is cut off.
 *
 * Provisional prices (not stored yet) carry no seq: per symbol, `previewFrom` is the provisional
 * round after which every one pushed reached this client, so the stored version of one it had is
 * sent as a `stored` confirmation instead of a second price. A client that skips a round (its buffer
 * full) moves the mark, and the stored versions of what it skipped reach it as ordinary updates.
 */
export class ClientConnection {
  private readonly symbols = new Set<string>();
  /** Highest seq sent per symbol (canonical decimal): anything at or below it is a duplicate. */
  private readonly sentSeq = new Map<string, string>();
  /** Per subscribed symbol, the provisional round after which every provisional tick reached this client. */
  private readonly previewFrom = new Map<string, number>();
  private readonly conflated = new Map<string, CommittedTick>();
  private congestedSince: number | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  /** While a catch-up read runs, live ticks (stored and provisional) wait here so nothing overtakes or repeats. */
  private holdBuffer: HeldTick[] | undefined;
  private holds = 0;
  private errors = 0;
  private readonly subscribes: TokenBucket;
  /** Client messages handled one after the other, and how many wait (the one running included). */
  private inbound: Promise<void> = Promise.resolve();
  private inboundCount = 0;
  /** Whether the client answered the last ping. */
  private alive = true;
  private closed = false;

  /** `frames` writes ready-made frames past ws; without it every message goes through ws. */
  constructor(
    private readonly socket: WebSocket,
    readonly id: string,
    private readonly limits: ClientLimits,
    private readonly metrics: HubMetrics,
    private readonly now: () => number = Date.now,
    private readonly frames?: RawFrameWriter,
  ) {
    socket.on('pong', () => (this.alive = true));
    this.subscribes = new TokenBucket({
      bucketSize: limits.subscribeBurst,
      tokensPerInterval: limits.subscribePerSecond,
      interval: 'second',
    });
    // A new bucket starts empty: a new client gets its whole burst.
    this.subscribes.content = limits.subscribeBurst;
  }

  /** False once the hub or the client closed the connection: nothing more is sent. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes waiting in the socket. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Pings the client; false (and the connection cut) when it did not answer the previous ping. */
  heartbeat(): boolean {
    if (!this.alive) {
      this.terminate('dead');
      return false;
    }
    this.alive = false;
    this.socket.ping();
    return true;
  }

  /**
   * Runs `handle` after the client's earlier messages. Past `maxQueuedMessages` waiting, the client is
   * closed with 1008 instead: a socket cannot pile up work faster than the hub does it.
   */
  handleInOrder(handle: () => Promise<void>): void {
    if (this.closed) return;
    if (this.inboundCount >= this.limits.maxQueuedMessages) {
      this.close(1008, 'too many queued messages', 'inbound_queue');
      return;
    }
    this.inboundCount++;
    this.inbound = this.inbound.then(handle).finally(() => this.inboundCount--);
  }

  /** Takes one subscribe from the client's allowance; false when it is used up. */
  allowSubscribe(): boolean {
    return this.subscribes.tryRemoveTokens(1);
  }

  /** Adds a subscription; `round` is the last provisional round pushed so far. */
  watch(symbol: string, round: number): void {
    this.symbols.add(symbol);
    this.previewFrom.set(symbol, round);
  }

  sendJson(message: ServerMessage): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    const text = JSON.stringify(message);
    this.socket.send(text);
    this.metrics.messagesPushed.inc();
    this.metrics.bytesPushed.inc(Buffer.byteLength(text));
  }

  /** `id`: the alert the error is about (it is not set). */
  sendError(message: string, id?: string): void {
    this.sendJson(id === undefined ? { type: 'error', message } : { type: 'error', message, id });
  }

  /** Counts a protocol error; past the limit the connection is closed with 1008 (policy violation). */
  protocolError(message: string, id?: string): void {
    this.metrics.protocolErrors.inc();
    this.sendError(message, id);
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
    // In arrival order: a provisional tick before its own stored version, which then confirms it.
    let from = 0;
    for (let i = 1; i <= held.length; i++) {
      if (i < held.length && isCommitted(held[i]!) === isCommitted(held[from]!)) continue;
      const run = held.slice(from, i);
      if (isCommitted(run[0]!)) this.deliver(run as CommittedTick[]);
      else this.deliverProvisional(run as ProvisionalTick[]);
      from = i;
    }
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
      this.previewFrom.delete(s);
      this.conflated.delete(s);
      if (this.holdBuffer) this.holdBuffer = this.holdBuffer.filter((t) => t.symbol !== s);
    }
  }

  /** Live ticks for this client, in seq order; `encoder` is shared by every client of one fan-out round. */
  push(ticks: CommittedTick[], encoder: UpdateEncoder): void {
    if (this.holdBuffer) {
      // Only this client's symbols: a hold can last a store read, while every symbol's ticks go by.
      for (const t of ticks) if (this.symbols.has(t.symbol)) this.holdBuffer.push(t);
      return;
    }
    this.deliver(ticks, encoder);
  }

  /**
   * Sends ticks as price_update messages; a symbol appears once per message, so each message's
   * cursor is exact (a tick this client had provisionally is confirmed by a `stored` message instead).
   * Once the socket is over its bound the rest is conflated, so the socket never holds more than the
   * bound plus one message.
   */
  deliver(ticks: CommittedTick[], encoder?: UpdateEncoder): void {
    if (this.closed) return;
    // The list itself when all of it is new to this client, so clients of one round share it.
    const fresh = ticks.every((t) => this.isFresh(t)) ? ticks : ticks.filter((t) => this.isFresh(t));
    if (fresh.length === 0) return;
    if (this.congestedSince !== undefined) {
      this.conflate(fresh);
      return;
    }
    this.send((e) => e.encode(fresh, this.previewedHere(fresh)), encoder);
  }

  /** Provisional ticks (not stored yet) for this client; its hold keeps them in order with the stored ones. */
  pushProvisional(ticks: ProvisionalTick[], encoder: UpdateEncoder): void {
    if (this.holdBuffer) {
      for (const t of ticks) if (this.symbols.has(t.symbol)) this.holdBuffer.push(t);
      return;
    }
    this.deliverProvisional(ticks, encoder);
  }

  private deliverProvisional(ticks: ProvisionalTick[], encoder?: UpdateEncoder): void {
    if (this.closed) return;
    // Skipped: other symbols, and ticks whose stored version this client already has.
    const wanted = (t: ProvisionalTick) =>
      this.symbols.has(t.symbol) && !(t.storedAs !== undefined && this.hasSent(t.symbol, t.storedAs));
    const fresh = ticks.every(wanted) ? ticks : ticks.filter(wanted);
    if (fresh.length === 0) return;
    if (this.congestedSince !== undefined) {
      this.skipPreviews(fresh);
      return;
    }
    this.send((e) => e.encodeProvisional(fresh), encoder);
  }

  /**
   * Writes the messages `build` makes: all at once when they fit under the bound, else one by one until it is
   * reached. Without an encoder, one of its own serializes (and counts) what this call sends.
   */
  private send(build: (encoder: UpdateEncoder) => EncodedUpdate[], shared?: UpdateEncoder): void {
    const encoder = shared ?? new UpdateEncoder(this.metrics, false, this.now);
    try {
      this.write(build(encoder), encoder);
    } finally {
      if (!shared) encoder.flush();
    }
  }

  private write(updates: EncodedUpdate[], encoder: UpdateEncoder): void {
    const frames = this.frames?.writable ? encoder.frames(updates) : undefined;
    if (frames && this.socket.bufferedAmount + frames.length <= this.limits.sendBufferBytes) {
      // The usual case: everything fits under the bound, so all of it leaves in one write of shared bytes.
      for (const u of updates) for (const t of u.ticks) this.sentSeq.set(t.symbol, t.seq);
      this.frames!.write(frames);
      encoder.sent(updates);
    } else {
      for (let i = 0; i < updates.length; i++) {
        if (this.overBound()) {
          const rest = updates.slice(i);
          this.conflate(rest.flatMap((u) => u.ticks));
          this.skipPreviews(rest.flatMap((u) => u.provisional));
          return;
        }
        const update = updates[i]!;
        for (const t of update.ticks) this.sentSeq.set(t.symbol, t.seq);
        this.sendUpdate(update, encoder);
      }
    }
    if (this.overBound()) this.startCongestion();
  }

  /** The latest stored prices, marked as a snapshot (no cursor). */
  deliverSnapshot(ticks: StoredTick[]): void {
    const encoder = new UpdateEncoder(this.metrics, true, this.now);
    this.deliver(ticks, encoder);
    encoder.flush();
  }

  /** Starts the close handshake; `dropReason` counts the close as the server dropping the client. */
  close(code: number, reason: string, dropReason?: string): void {
    if (!this.stop(dropReason)) return;
    this.socket.close(code, reason);
    // A peer that no longer reads never answers the close handshake.
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  /** Cuts the connection without a close handshake (the peer sees 1006). */
  terminate(dropReason: string): void {
    if (this.stop(dropReason)) this.socket.terminate();
  }

  /** After the socket closed: nothing more is sent. */
  dispose(): void {
    this.closed = true;
    clearInterval(this.drainTimer);
  }

  private stop(dropReason: string | undefined): boolean {
    if (this.closed) return false;
    this.closed = true;
    clearInterval(this.drainTimer);
    if (dropReason) this.metrics.dropped.inc({ reason: dropReason });
    return true;
  }

  private isFresh(t: StoredTick): boolean {
    return this.symbols.has(t.symbol) && !this.hasSent(t.symbol, t.seq);
  }

  private hasSent(symbol: string, seq: string): boolean {
    const last = this.sentSeq.get(symbol);
    return last !== undefined && !seqAfter(seq, last);
  }

  /** The ticks whose provisional copy reached this client; undefined when there are none. */
  private previewedHere(ticks: CommittedTick[]): Set<CommittedTick> | undefined {
    let had: Set<CommittedTick> | undefined;
    for (const t of ticks) {
      if (t.previewedIn !== undefined && t.previewedIn > (this.previewFrom.get(t.symbol) ?? Infinity))
        (had ??= new Set()).add(t);
    }
    return had;
  }

  /** Provisional ticks this client will not get: their stored versions must then reach it as ordinary updates. */
  private skipPreviews(ticks: ProvisionalTick[]): void {
    for (const t of ticks)
      if (t.round > (this.previewFrom.get(t.symbol) ?? Infinity)) this.previewFrom.set(t.symbol, t.round);
  }

  private sendUpdate(update: EncodedUpdate, encoder: UpdateEncoder): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(update.bytes, { binary: false });
    encoder.sent([update]);
  }

  private overBound(): boolean {
    return this.socket.bufferedAmount > this.limits.sendBufferBytes;
  }

  private conflate(ticks: CommittedTick[]): void {
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
        this.terminate('slow_consumer');
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
