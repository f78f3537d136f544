import type postgres from 'postgres';
import { tickKey, type Episode, type SoakClient, type TickIds } from './soak-client.js';

/** The run's stored ticks by key and, per symbol, their seqs in order; read incrementally (seq is commit-ordered). */
export class StoredTicks {
  readonly seqOf = new Map<string, number>();
  readonly keyOf = new Map<number, string>();
  readonly bySymbol = new Map<string, number[]>();
  private last = 0;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly schema: string,
  ) {}

  /** Reads the ticks committed since the last refresh. */
  async refresh(): Promise<void> {
    const rows = await this.sql<{ symbol: string; timestamp: Date; source: string; seq: string }[]>`
      SELECT symbol, "timestamp", source, seq FROM ${this.sql(this.schema)}.ticks
      WHERE seq > ${this.last} ORDER BY seq`;
    for (const r of rows) {
      const seq = Number(r.seq);
      const key = tickKey(r.symbol, r.timestamp, r.source);
      this.seqOf.set(key, seq);
      this.keyOf.set(seq, key);
      let list = this.bySymbol.get(r.symbol);
      if (!list) this.bySymbol.set(r.symbol, (list = []));
      list.push(seq);
      this.last = seq;
    }
  }

  get size(): number {
    return this.seqOf.size;
  }

  /** The first stored seq of `symbol` after `seq`. */
  nextAfter(symbol: string, seq: number): number | undefined {
    const list = this.bySymbol.get(symbol) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return list[lo];
  }

  /** The keys of the stored ticks of `symbol` in (after, before), in seq order. */
  between(symbol: string, after: number, before: number): string[] {
    const keys: string[] = [];
    for (let seq = this.nextAfter(symbol, after); seq !== undefined && seq < before; seq = this.nextAfter(symbol, seq))
      keys.push(this.keyOf.get(seq)!);
    return keys;
  }

  latest(symbol: string): number {
    const list = this.bySymbol.get(symbol);
    return list?.[list.length - 1] ?? 0;
  }
}

const MAX_VIOLATIONS_PER_CLIENT = 5;

/**
 * Checks what clients received against what is stored, going on from where the last check stopped: each episode's
 * receipts after its start are exactly the symbol's stored ticks, once each, in seq order. A receipt not yet in
 * `stored` waits for the next check; in the final one it is a violation, as is an open episode that is not current
 * (`latest`: per symbol, the seq every open episode must have reached) or a provisional tick never confirmed.
 */
export class DeliveryCheck {
  readonly violations: string[] = [];
  deliveries = 0;
  /** Receipts at or before an episode's start: a resume from a cursor older than the symbol's snapshot. */
  beforeStart = 0;
  /** Ticks between a snapshot and the first live tick, older than the snapshot (see `superseded`). */
  supersededBySnapshot = 0;
  private readonly perClient = new Map<SoakClient, number>();

  constructor(
    private readonly stored: StoredTicks,
    private readonly ids: TickIds,
  ) {}

  run(clients: SoakClient[], final?: { latest: Map<string, number> }): void {
    for (const [i, c] of clients.entries()) {
      for (const v of c.violations.splice(0)) this.report(c, v);
      for (const e of c.episodes) this.episode(c, i, e, final);
    }
  }

  /** Whether every open episode of every client is current with `latest` (checks first). */
  current(clients: SoakClient[], latest: Map<string, number>): boolean {
    this.run(clients);
    return clients.every(
      (c) =>
        c.connected &&
        [...c.open.values()].every((e) => e.lastSeq !== undefined && e.lastSeq >= (latest.get(e.symbol) ?? 0)),
    );
  }

  private report(c: SoakClient, v: string): void {
    const n = (this.perClient.get(c) ?? 0) + 1;
    this.perClient.set(c, n);
    if (n <= MAX_VIOLATIONS_PER_CLIENT) this.violations.push(v);
  }

  /**
   * A snapshot is the symbol's latest price by time, and live ticks follow from the client's place in the feed at
   * subscribe: ticks stored before that place but older than the snapshot (a late tick, another source's past) are
   * superseded by it. Only those may lie between the snapshot and the first live tick.
   */
  private superseded(e: Episode, start: number, seq: number): boolean {
    if (e.startId === undefined || e.startSince !== undefined) return false;
    const at = this.ids.keys[e.startId]!.split('|')[1]!;
    const between = this.stored.between(e.symbol, start, seq);
    if (!between.every((k) => k.split('|')[1]! < at)) return false;
    this.supersededBySnapshot += between.length;
    return true;
  }

  /** What a client missed between two receipts, and what happened around it. */
  private gap(i: number, e: Episode, last: number, seq: number): string {
    const missed = this.stored.between(e.symbol, last, seq);
    const provisional = new Set(e.provisional.map((id) => this.ids.keys[id]));
    const resumed = e.resumedAt.includes(e.checked) ? ', across a resume' : '';
    const shown = missed.filter((k) => provisional.has(k)).length;
    return (
      `client ${i}: missed ${missed.length} ${e.symbol} tick(s) between seq ${last} and ${seq}${resumed}` +
      ` (${shown} of them shown provisionally; e.g. ${missed.slice(0, 2).join(', ')})`
    );
  }

  private start(e: Episode): number | undefined {
    if (e.startSince !== undefined) return Number(e.startSince);
    return e.startId === undefined ? undefined : this.stored.seqOf.get(this.ids.keys[e.startId]!);
  }

  private episode(c: SoakClient, i: number, e: Episode, final: { latest: Map<string, number> } | undefined): void {
    const start = this.start(e);
    if (start === undefined) {
      if (final && e.open && e.startId !== undefined)
        this.report(c, `client ${i}: its ${e.symbol} snapshot ${this.ids.keys[e.startId]} is not stored`);
      else if (final && e.open) this.report(c, `client ${i}: no snapshot of ${e.symbol} after subscribing`);
      return;
    }
    let last = (e.lastSeq ??= start);
    for (; e.checked < e.receipts.length; e.checked++) {
      const key = this.ids.keys[e.receipts[e.checked]!]!;
      const seq = this.stored.seqOf.get(key);
      if (seq === undefined) {
        if (!final) return;
        this.report(c, `client ${i}: received ${key}, which is not stored`);
        continue;
      }
      this.deliveries++;
      if (seq <= start) {
        this.beforeStart++;
        continue;
      }
      const expected = this.stored.nextAfter(e.symbol, last);
      if (seq <= last) this.report(c, `client ${i}: ${key} (seq ${seq}) again or out of order, after seq ${last}`);
      else if (seq !== expected && !(last === start && this.superseded(e, start, seq)))
        this.report(c, this.gap(i, e, last, seq));
      if (seq > last) e.lastSeq = last = seq;
    }
    if (!final || !e.open) return;
    const want = final.latest.get(e.symbol) ?? 0;
    if (last < want) this.report(c, `client ${i}: ${e.symbol} not current (at seq ${last}, latest ${want})`);
    for (const id of e.provisional) {
      const seq = this.stored.seqOf.get(this.ids.keys[id]!);
      if (seq !== undefined && seq > last)
        this.report(c, `client ${i}: provisional ${this.ids.keys[id]} never confirmed`);
    }
  }
}
