import * as ws from 'ws';
import { seqAfter, type StoredTick } from '../ticks/tick-schema.js';
import type { HubMetrics } from './hub-metrics.js';

/** `2024-09-14T12:34:56Z` as in the contract; milliseconds only when there are some. */
function contractTimestamp(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

/** ws's own framing (exported by ws, not declared in @types/ws): a server frame is unmasked, so it is final. */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] };
};
if (typeof Sender?.frame !== 'function') throw new Error('ws no longer exports Sender.frame');
const TEXT_OPCODE = 1;

/** One `price_update` ready to send: its ticks (a symbol at most once), the serialized text, and the text framed. */
export interface EncodedUpdate {
  ticks: StoredTick[];
  bytes: Buffer;
  /** The complete WebSocket text frame carrying `bytes`. */
  frame: Buffer;
}

/**
 * Serializes tick lists into `price_update` messages, once per distinct list: clients that get the
 * same ticks in one fan-out round share the same bytes, so the cost per client is a lookup and a
 * socket write. Pushed messages and bytes are counted here and added to the metrics on `flush`.
 */
export class UpdateEncoder {
  private readonly cache = new Map<string, EncodedUpdate[]>();
  private readonly byList = new WeakMap<StoredTick[], EncodedUpdate[]>();
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
   * each live message's cursor (its highest seq) is exact.
   */
  encode(ticks: StoredTick[]): EncodedUpdate[] {
    let updates = this.byList.get(ticks);
    if (updates) return updates;
    const key = ticks.length === 1 ? ticks[0]!.seq : ticks.map((t) => t.seq).join(',');
    updates = this.cache.get(key);
    if (!updates) this.cache.set(key, (updates = this.build(ticks)));
    this.byList.set(ticks, updates);
    return updates;
  }

  /** The frames of `updates` back to back, built once: one socket write sends them all. */
  frames(updates: EncodedUpdate[]): Buffer {
    let frames = this.joined.get(updates);
    if (!frames) this.joined.set(updates, (frames = updates.length === 1 ? updates[0]!.frame : Buffer.concat(updates.map((u) => u.frame))));
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

  private build(ticks: StoredTick[]): EncodedUpdate[] {
    const updates: EncodedUpdate[] = [];
    let batch: StoredTick[] = [];
    let symbols = new Set<string>();
    for (const t of ticks) {
      if (symbols.has(t.symbol)) {
        updates.push(this.message(batch));
        batch = [];
        symbols = new Set();
      }
      batch.push(t);
      symbols.add(t.symbol);
    }
    if (batch.length > 0) updates.push(this.message(batch));
    return updates;
  }

  private message(ticks: StoredTick[]): EncodedUpdate {
    const data: Record<string, { price: number; timestamp: string; source: string }> = {};
    for (const t of ticks) data[t.symbol] = { price: t.price, timestamp: contractTimestamp(t.timestamp), source: t.source };
    if (this.snapshot) return encoded(ticks, { type: 'price_update', snapshot: true, data });
    const at = this.now();
    for (const t of ticks) if (t.publishedAt) this.metrics.tickToPush.observe(Math.max(0, at - t.publishedAt.getTime()) / 1000);
    let cursor = ticks[0]!.seq;
    for (const t of ticks) if (seqAfter(t.seq, cursor)) cursor = t.seq;
    return encoded(ticks, { type: 'price_update', data, cursor });
  }
}

function encoded(ticks: StoredTick[], message: object): EncodedUpdate {
  const bytes = Buffer.from(JSON.stringify(message));
  const frame = Buffer.concat(Sender.frame(bytes, { fin: true, rsv1: false, opcode: TEXT_OPCODE, mask: false, readOnly: true }));
  return { ticks, bytes, frame };
}
