import { request } from 'undici';
import WebSocket from 'ws';
import { prng } from '../fuzz.js';

interface ServerMessage {
  type: string;
  message?: string;
  symbols?: string[];
  snapshot?: boolean;
  cursor?: string;
  data?: Record<string, { price: number; timestamp: string; source?: string; provisional?: boolean }>;
  ticks?: { symbol: string; timestamp: string; source?: string }[];
}

/** `symbol|ISO timestamp|source`: a stored tick's identity (the table's primary key). */
export function tickKey(symbol: string, timestamp: string | Date, source: string): string {
  return `${symbol}|${new Date(timestamp).toISOString()}|${source}`;
}

/** Tick keys as small integers, shared by every client: hundreds of clients hold millions of receipts. */
export class TickIds {
  private readonly ids = new Map<string, number>();
  readonly keys: string[] = [];

  id(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
    }
    return id;
  }
}

/**
 * One symbol subscribed without a break: from its snapshot (or from the cursor it continued from) until its
 * `unsubscribed`, or still open at the end. Every stored tick of the symbol after the start must be received once,
 * in seq order, across reconnects (resume).
 */
export interface Episode {
  symbol: string;
  /** The snapshot tick the episode starts after (undefined until the snapshot arrives)... */
  startId: number | undefined;
  /** ...or the cursor it was resumed from when the connection went before its snapshot came. */
  startSince: bigint | undefined;
  /** Stored ticks received, in order: stored `price_update`s and `stored` confirmations. */
  receipts: number[];
  /** Ticks shown provisionally. */
  provisional: number[];
  /** Receipt counts at which a new connection resumed the episode (for the report). */
  resumedAt: number[];
  open: boolean;
  /** How far the checker has gone (receipts index and the seq it ended on). */
  checked: number;
  lastSeq: number | undefined;
}

export interface SoakClientOptions {
  id: number;
  seed: number;
  symbols: readonly string[];
  gateways: () => string[];
  ids: TickIds;
  /** Mean time between a client's random actions (subscribe, unsubscribe, reconnect). */
  meanActionMs: number;
  /** Keep every message in and out (memory grows with the run: for short diagnostic runs). */
  trace?: boolean;
}

/**
 * A WebSocket client of the soak: subscribes to a random set of symbols through a random gateway, then at random
 * subscribes, unsubscribes or drops its socket; on any close it takes a new session (through any gateway) and resumes
 * its open episodes with `since` = the last cursor it saw. Violations it can see on arrival are recorded at once.
 */
export class SoakClient {
  readonly episodes: Episode[] = [];
  readonly violations: string[] = [];
  readonly open = new Map<string, Episode>();
  cursor: string | undefined;
  reconnects = 0;
  connected = false;
  /** Every message in and out, when tracing: for diagnosing a violation. */
  readonly trace: string[] | undefined;
  private socket: WebSocket | undefined;
  private stopped = false;
  private churning = false;
  private actionTimer: NodeJS.Timeout | undefined;
  private readonly rand: () => number;
  /** Symbols subscribed since the last `subscribed` ack, waiting for their snapshot. */
  private readonly wantSnapshot = new Set<string>();
  /** Symbols sent in an unsubscribe not acknowledged yet. */
  private readonly leaving = new Set<string>();
  /** Symbols acknowledged as unsubscribed on this connection (no update may follow). */
  private readonly left = new Set<string>();

  constructor(private readonly opts: SoakClientOptions) {
    this.rand = prng(opts.seed * 7919 + opts.id);
    if (opts.trace) this.trace = [];
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)]!;
  }

  /** Starts with a random set of 1..all symbols and keeps connected until `stop()`. */
  start(): void {
    const wanted = this.opts.symbols.filter(() => this.rand() < 0.5);
    if (wanted.length === 0) wanted.push(this.pick(this.opts.symbols));
    for (const s of wanted) this.open.set(s, this.newEpisode(s));
    void this.connectLoop();
  }

  /** Random actions from now on, until `stop()` or `calm()`. */
  churn(): void {
    this.churning = true;
    this.scheduleAction();
  }

  /** No more random actions (the soak's quiet end). */
  calm(): void {
    this.churning = false;
    clearTimeout(this.actionTimer);
  }

  stop(): void {
    this.stopped = true;
    this.calm();
    this.socket?.terminate();
  }

  private newEpisode(symbol: string): Episode {
    const e: Episode = {
      symbol,
      startId: undefined,
      startSince: undefined,
      receipts: [],
      provisional: [],
      resumedAt: [],
      open: true,
      checked: 0,
      lastSeq: undefined,
    };
    this.episodes.push(e);
    this.wantSnapshot.add(symbol);
    return e;
  }

  private scheduleAction(): void {
    if (!this.churning || this.stopped) return;
    const delay = Math.round(-Math.log(1 - this.rand()) * this.opts.meanActionMs);
    this.actionTimer = setTimeout(() => {
      this.act();
      this.scheduleAction();
    }, delay);
  }

  private act(): void {
    const socket = this.socket;
    if (!this.connected || !socket || socket.readyState !== WebSocket.OPEN) return;
    const roll = this.rand();
    const subscribed = [...this.open.keys()].filter((s) => !this.leaving.has(s));
    const others = this.opts.symbols.filter((s) => !this.open.has(s));
    if (roll < 0.4 && others.length > 0) {
      const s = this.pick(others);
      this.left.delete(s);
      this.open.set(s, this.newEpisode(s));
      this.send(socket, { type: 'subscribe', symbols: [s] });
    } else if (roll < 0.8 && subscribed.length > 1) {
      const s = this.pick(subscribed);
      this.leaving.add(s);
      this.send(socket, { type: 'unsubscribe', symbols: [s] });
    } else if (roll >= 0.8) {
      socket.terminate();
    }
  }

  private send(socket: WebSocket, message: object): void {
    const text = JSON.stringify(message);
    this.trace?.push(`${Date.now()} > ${text}`);
    socket.send(text);
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.connect();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + this.rand())));
      }
    }
  }

  private async connect(): Promise<void> {
    const gateway = this.pick(this.opts.gateways());
    const session = await request(`${gateway}/session`, { method: 'POST', headersTimeout: 5000, bodyTimeout: 5000 });
    if (session.statusCode !== 200) {
      await session.body.dump();
      throw new Error(`POST /session ${session.statusCode}`);
    }
    const { websocket_url } = (await session.body.json()) as { websocket_url: string };
    const socket = new WebSocket(websocket_url, { origin: new URL(gateway).origin, handshakeTimeout: 5000 });
    this.socket = socket;
    // Per symbol, the ticks shown provisionally on this connection since the symbol was (last) subscribed.
    const provisionalHere = new Map<string, Set<number>>();
    // Unsubscribes not acknowledged on the old connection are done: the new one does not subscribe them.
    for (const s of this.leaving) this.closeEpisode(s);
    this.leaving.clear();
    this.left.clear();
    let acked = false;
    const conn = this.reconnects;
    socket.on('message', (raw: Buffer) => {
      this.trace?.push(`${Date.now()} c${conn} < ${raw.toString()}`);
      this.onMessage(JSON.parse(raw.toString()) as ServerMessage, provisionalHere, () => (acked = true));
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before open')));
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.connected = false;
      if (this.stopped) return;
      this.reconnects++;
      void this.connectLoop();
    });
    this.connected = true;
    const symbols = [...this.open.keys()];
    // Without a cursor there is nothing to resume from: every open episode starts again from a snapshot.
    if (this.cursor === undefined) for (const s of symbols) this.restart(s);
    else for (const s of this.wantSnapshot) this.open.get(s)!.startSince = BigInt(this.cursor);
    for (const e of this.open.values()) e.resumedAt.push(e.receipts.length);
    if (this.cursor !== undefined) this.wantSnapshot.clear();
    this.send(socket, { type: 'subscribe', symbols, ...(this.cursor !== undefined ? { since: this.cursor } : {}) });
    // A subscribe the hub never answered is tried again on a new connection. Generous: under a reconnect storm the
    // hub's store reads (symbol check, resume) queue in a narrow lane, and a short timeout would feed the storm.
    setTimeout(() => acked || socket.terminate(), 60_000).unref();
  }

  private restart(symbol: string): void {
    const old = this.open.get(symbol);
    if (old) old.open = false;
    this.open.set(symbol, this.newEpisode(symbol));
  }

  private closeEpisode(symbol: string): void {
    const e = this.open.get(symbol);
    if (e) e.open = false;
    this.open.delete(symbol);
    this.wantSnapshot.delete(symbol);
  }

  private onMessage(msg: ServerMessage, provisionalHere: Map<string, Set<number>>, acked: () => void): void {
    const { ids } = this.opts;
    switch (msg.type) {
      case 'subscribed':
        acked();
        return;
      case 'unsubscribed':
        for (const s of msg.symbols ?? []) {
          this.leaving.delete(s);
          this.left.add(s);
          this.closeEpisode(s);
          provisionalHere.delete(s);
        }
        return;
      case 'error':
        // A resume too far back is answered with a snapshot: the open episodes start again from it.
        if (msg.message?.startsWith('Cannot resume')) for (const s of [...this.open.keys()]) this.restart(s);
        else this.socket?.terminate();
        return;
      case 'stored':
        for (const t of msg.ticks ?? []) this.receive(t.symbol, ids.id(tickKey(t.symbol, t.timestamp, t.source ?? '')));
        break;
      case 'price_update':
        for (const [symbol, tick] of Object.entries(msg.data ?? {})) {
          const id = ids.id(tickKey(symbol, tick.timestamp, tick.source ?? ''));
          if (msg.snapshot) {
            const e = this.open.get(symbol);
            if (e && this.wantSnapshot.delete(symbol)) e.startId = id;
          } else if (tick.provisional) {
            let here = provisionalHere.get(symbol);
            if (!here) provisionalHere.set(symbol, (here = new Set()));
            here.add(id);
            this.open.get(symbol)?.provisional.push(id);
          } else if (provisionalHere.get(symbol)?.has(id)) {
            this.violations.push(
              `client ${this.opts.id}: ${ids.keys[id]} pushed again after its provisional copy on the same connection`,
            );
          } else {
            this.receive(symbol, id);
          }
        }
        break;
      default:
        return;
    }
    if (msg.cursor !== undefined && (this.cursor === undefined || BigInt(msg.cursor) > BigInt(this.cursor)))
      this.cursor = msg.cursor;
  }

  private receive(symbol: string, id: number): void {
    const e = this.open.get(symbol);
    if (e) e.receipts.push(id);
    else if (this.left.has(symbol))
      this.violations.push(`client ${this.opts.id}: ${this.opts.ids.keys[id]} after its unsubscribe was acknowledged`);
    else this.violations.push(`client ${this.opts.id}: ${this.opts.ids.keys[id]} of a symbol it is not subscribed to`);
  }
}
