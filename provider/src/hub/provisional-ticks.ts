import type { NewTick, StoredTick } from '../ticks/tick-schema.js';
import { InsertionQueue } from './insertion-queue.js';

/** A tick seen on the `prices` exchange that the hub has not seen stored. */
export interface ProvisionalTick extends NewTick {
  /** The store's natural key (symbol, source, timestamp). */
  readonly key: string;
  /** The provisional round that pushed it (0 until one does). */
  round: number;
  /** The seq of its stored version, once the hub has seen that committed. */
  storedAs?: string;
}

/** A committed tick of the live stream; `previewedIn` is the provisional round that pushed it before, if one did. */
export interface CommittedTick extends StoredTick {
  previewedIn?: number;
}

export interface ProvisionalTicksOptions {
  /** A tick not seen stored this long after it was seen on the bus is pushed provisionally. */
  maxLagMs: number;
  /** Most ticks remembered in each of: waiting, pushed but not stored, recently stored. */
  maxTicks: number;
  now?: () => number;
}

interface Waiting {
  tick: ProvisionalTick;
  seenAt: number;
}

/** The store's natural key of a tick, as the `ticks` primary key has it. */
export function tickKey(t: { symbol: string; source: string; timestamp: Date }): string {
  return `${t.symbol}|${t.source}|${t.timestamp.getTime()}`;
}

/**
 * Which ticks seen on the bus have not been seen stored in time, in rounds: each round pushes the ticks
 * whose bound ran out, and a committed tick is marked with the round that pushed it, so the hub sends its
 * stored version to nobody who already had it. Memory is bounded: past `maxTicks` the oldest are forgotten
 * (a forgotten pushed tick's stored version is then pushed as an ordinary update).
 */
export class ProvisionalTicks {
  /** Seen on the bus, neither stored nor pushed yet; `waitingOrder` holds them in arrival order. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly waitingOrder = new InsertionQueue<Waiting>((w) => this.waiting.get(w.tick.key) === w);
  /** Pushed provisionally, not seen stored yet; `previewedOrder` holds them in push order. */
  private readonly previewed = new Map<string, ProvisionalTick>();
  private readonly previewedOrder = new InsertionQueue<ProvisionalTick>((t) => this.previewed.get(t.key) === t);
  /** Recently stored: a bus copy arriving after its commit (or a republished one) is not pushed. */
  private readonly stored = new Set<string>();
  private readonly storedOrder = new InsertionQueue<string>((key) => this.stored.has(key));
  private rounds = 0;
  private readonly now: () => number;

  constructor(private readonly opts: ProvisionalTicksOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The last round pushed (0 before the first). */
  get round(): number {
    return this.rounds;
  }

  /** Ticks seen on the bus. */
  seen(ticks: NewTick[]): void {
    const at = this.now();
    for (const t of ticks) {
      const key = tickKey(t);
      if (this.stored.has(key) || this.waiting.has(key) || this.previewed.has(key)) continue;
      if (this.waiting.size + this.previewed.size >= this.opts.maxTicks) this.forgetOldest();
      const waiting = { tick: { ...t, key, round: 0 }, seenAt: at };
      this.waiting.set(key, waiting);
      this.waitingOrder.push(waiting, this.waiting.size);
    }
  }

  /** Committed ticks: a pushed one is marked with its round (and its provisional copy with its seq). */
  settle(ticks: CommittedTick[]): void {
    for (const t of ticks) {
      const key = tickKey(t);
      if (!this.stored.has(key)) {
        this.stored.add(key);
        this.storedOrder.push(key, this.stored.size);
        if (this.stored.size > this.opts.maxTicks) this.stored.delete(this.storedOrder.shift()!);
      }
      if (this.waiting.delete(key)) continue;
      const pushed = this.previewed.get(key);
      if (!pushed) continue;
      this.previewed.delete(key);
      pushed.storedAs = t.seq;
      t.previewedIn = pushed.round;
    }
  }

  /** Ticks seen on the bus at or before this time have waited their bound out. */
  dueBefore(): number {
    return this.now() - this.opts.maxLagMs;
  }

  /** The waiting ticks seen at or before `dueBefore`, left waiting. */
  due(dueBefore: number): ProvisionalTick[] {
    const due: ProvisionalTick[] = [];
    for (const w of this.waitingOrder.values()) {
      if (w.seenAt > dueBefore) break;
      due.push(w.tick);
    }
    return due;
  }

  /** Waiting ticks found stored (a copy sent again after its commit): they are not pushed. */
  storedAlready(keys: Iterable<string>): void {
    for (const key of keys) {
      if (!this.waiting.delete(key)) continue;
      this.stored.add(key);
      this.storedOrder.push(key, this.stored.size);
      if (this.stored.size > this.opts.maxTicks) this.stored.delete(this.storedOrder.shift()!);
    }
  }

  /** The waiting ticks seen at or before `dueBefore`, as a new round; undefined when there are none. */
  takeDue(dueBefore = this.dueBefore()): ProvisionalTick[] | undefined {
    const due: ProvisionalTick[] = [];
    for (let w = this.waitingOrder.peek(); w && w.seenAt <= dueBefore; w = this.waitingOrder.peek()) {
      this.waitingOrder.shift();
      this.waiting.delete(w.tick.key);
      due.push(w.tick);
    }
    if (due.length === 0) return undefined;
    const round = ++this.rounds;
    for (const t of due) {
      t.round = round;
      this.previewed.set(t.key, t);
      this.previewedOrder.push(t, this.previewed.size);
    }
    return due;
  }

  /** Milliseconds until the oldest waiting tick falls due; undefined when none waits. */
  nextDueIn(): number | undefined {
    const first = this.waitingOrder.peek();
    if (!first) return undefined;
    return Math.max(0, first.seenAt + this.opts.maxLagMs - this.now());
  }

  private forgetOldest(): void {
    if (this.previewed.size > 0) this.previewed.delete(this.previewedOrder.shift()!.key);
    else if (this.waiting.size > 0) this.waiting.delete(this.waitingOrder.shift()!.tick.key);
  }
}
