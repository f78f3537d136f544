import type { ServerMessage } from '@lizards/contract';
import { seqAfter } from '../ticks/tick-schema.js';
import type { HubMetrics } from './hub-metrics.js';
import type { CommittedTick, ProvisionalTick } from './provisional-ticks.js';
import { textFrame } from './raw-frame-writer.js';

/** `2024-09-14T12:34:56Z` as in the contract; milliseconds only when there are some. */
export function contractTimestamp(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

/**
 * One message ready to send — a `price_update` (a symbol at most once) or a `stored` confirmation — with the
 * committed ticks it carries (or the provisional ones) and the serialized text.
 */
export interface EncodedUpdate {
  ticks: CommittedTick[];
  provisional: ProvisionalTick[];
  bytes: Buffer;
}

/**
 * Serializes tick lists into `price_update` messages, once per distinct list: clients that get the
 * same ticks in one fan-out round share the same bytes, so the cost per client is a lookup and a
 * socket write. Pushed messages and bytes are counted here and added to the metrics on `flush`.
 */
export class UpdateEncoder {
  private readonly cache = new Map<string, EncodedUpdate[]>();
  private readonly byList = new WeakMap<object[], EncodedUpdate[]>();
  private readonly joined = new WeakMap<EncodedUpdate[], Buffer>();
  private messages = 0;
  private bytes = 0;

  constructor(
    private readonly metrics: HubMetrics,
    private readonly snapshot = false,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The messages for ticks in seq order: a new message starts whenever a symbol would repeat, so
   * each live message's cursor (its highest seq) is exact. Ticks in `confirmed` (this client had them
   * provisionally) go in `stored` messages instead, in the same order, so every cursor stays exact.
   */
  encode(ticks: CommittedTick[], confirmed?: ReadonlySet<CommittedTick>): EncodedUpdate[] {
    if (confirmed)
      return this.cached(ticks.map((t) => (confirmed.has(t) ? `s${t.seq}` : t.seq)).join(','), () =>
        this.buildMixed(ticks, confirmed),
      );
    let updates = this.byList.get(ticks);
    if (updates) return updates;
    updates = this.cached(ticks.length === 1 ? ticks[0]!.seq : ticks.map((t) => t.seq).join(','), () =>
      this.build(ticks),
    );
    this.byList.set(ticks, updates);
    return updates;
  }

  /** `price_update` messages of ticks not stored yet: marked provisional, without a cursor. */
  encodeProvisional(ticks: ProvisionalTick[]): EncodedUpdate[] {
    let updates = this.byList.get(ticks);
    if (updates) return updates;
    updates = this.cached(`p${ticks.map((t) => t.key).join(',')}`, () =>
      splitBySymbol(ticks).map((batch) => this.provisionalMessage(batch)),
    );
    this.byList.set(ticks, updates);
    return updates;
  }

  /** The WebSocket frames of `updates` back to back, built once: one socket write sends them all. */
  frames(updates: EncodedUpdate[]): Buffer {
    let frames = this.joined.get(updates);
    if (!frames) {
      frames = Buffer.concat(updates.map((u) => textFrame(u.bytes)));
      this.joined.set(updates, frames);
    }
    return frames;
  }

  /** Counts messages handed to a socket. */
  sent(updates: readonly EncodedUpdate[]): void {
    this.messages += updates.length;
    for (const u of updates) this.bytes += u.bytes.length;
  }

  flush(): void {
    if (this.messages === 0) return;
    this.metrics.messagesPushed.inc(this.messages);
    this.metrics.bytesPushed.inc(this.bytes);
    this.messages = 0;
    this.bytes = 0;
  }

  private cached(key: string, build: () => EncodedUpdate[]): EncodedUpdate[] {
    let updates = this.cache.get(key);
    if (!updates) this.cache.set(key, (updates = build()));
    return updates;
  }

  private build(ticks: CommittedTick[]): EncodedUpdate[] {
    return splitBySymbol(ticks).map((batch) => this.message(batch));
  }

  /** Runs of unconfirmed ticks as price updates, runs of confirmed ones as one `stored` message each. */
  private buildMixed(ticks: CommittedTick[], confirmed: ReadonlySet<CommittedTick>): EncodedUpdate[] {
    const updates: EncodedUpdate[] = [];
    let run: CommittedTick[] = [];
    let runConfirmed = false;
    const close = () => {
      if (run.length > 0) updates.push(...(runConfirmed ? [storedMessage(run)] : this.build(run)));
      run = [];
    };
    for (const t of ticks) {
      if (confirmed.has(t) !== runConfirmed) {
        close();
        runConfirmed = !runConfirmed;
      }
      run.push(t);
    }
    close();
    return updates;
  }

  private message(ticks: CommittedTick[]): EncodedUpdate {
    const data: Record<string, { price: number; timestamp: string; source: string }> = {};
    for (const t of ticks)
      data[t.symbol] = { price: t.price, timestamp: contractTimestamp(t.timestamp), source: t.source };
    if (this.snapshot) return encoded(ticks, [], { type: 'price_update', snapshot: true, data });
    this.observeLatency(ticks);
    return encoded(ticks, [], { type: 'price_update', data, cursor: highestSeq(ticks) });
  }

  private provisionalMessage(ticks: ProvisionalTick[]): EncodedUpdate {
    const data: Record<string, { price: number; timestamp: string; source: string; provisional: true }> = {};
    for (const t of ticks)
      data[t.symbol] = {
        price: t.price,
        timestamp: contractTimestamp(t.timestamp),
        source: t.source,
        provisional: true,
      };
    this.observeLatency(ticks);
    return encoded([], ticks, { type: 'price_update', data });
  }

  private observeLatency(ticks: { publishedAt: Date | null }[]): void {
    const at = this.now();
    for (const t of ticks)
      if (t.publishedAt) this.metrics.tickToPush.observe(Math.max(0, at - t.publishedAt.getTime()) / 1000);
  }
}

/** Consecutive ticks in messages where a symbol appears at most once (a new one starts where a symbol would repeat). */
function splitBySymbol<T extends { symbol: string }>(ticks: T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let symbols = new Set<string>();
  for (const t of ticks) {
    if (symbols.has(t.symbol)) {
      batches.push(batch);
      batch = [];
      symbols = new Set();
    }
    batch.push(t);
    symbols.add(t.symbol);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function highestSeq(ticks: CommittedTick[]): string {
  let cursor = ticks[0]!.seq;
  for (const t of ticks) if (seqAfter(t.seq, cursor)) cursor = t.seq;
  return cursor;
}

/** Tells a client that ticks it was sent provisionally are now stored, and where it stands for a resume. */
function storedMessage(ticks: CommittedTick[]): EncodedUpdate {
  const stored = ticks.map((t) => ({ symbol: t.symbol, timestamp: contractTimestamp(t.timestamp), source: t.source }));
  return encoded(ticks, [], { type: 'stored', ticks: stored, cursor: highestSeq(ticks) });
}

function encoded(ticks: CommittedTick[], provisional: ProvisionalTick[], message: ServerMessage): EncodedUpdate {
  return { ticks, provisional, bytes: Buffer.from(JSON.stringify(message)) };
}
