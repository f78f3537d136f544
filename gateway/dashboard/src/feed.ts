/** The live price feed: session, WebSocket, subscriptions, automatic reconnect and resume from the last cursor. */

export interface PriceTick {
  price: number;
  timestamp: string;
  source?: string;
}

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface FeedEvents {
  state(state: ConnectionState, detail: string): void;
  prices(data: Record<string, PriceTick>, snapshot: boolean): void;
  subscribed(accepted: string[], rejected: { symbol: string; reason: string }[]): void;
  error(message: string): void;
  stale(symbol: string, since: string): void;
}

type ServerMessage =
  | { type: 'price_update'; data: Record<string, PriceTick>; cursor?: string; snapshot?: boolean }
  | { type: 'subscribed'; symbols: string[]; rejected?: { symbol: string; reason: string }[] }
  | { type: 'unsubscribed'; symbols: string[] }
  | { type: 'error'; message: string }
  | { type: 'stale'; symbol: string; since: string }
  | { type: 'reconnect'; reason: string };

const MIN_BACKOFF_MS = 300;
const MAX_BACKOFF_MS = 5000;

export class PriceFeed {
  private socket: WebSocket | undefined;
  private readonly symbols = new Set<string>();
  /** The highest seq received: sent back as `since` after a reconnect so nothing is missed. */
  private cursor: string | undefined;
  private attempt = 0;
  private retryTimer: number | undefined;
  reconnects = 0;

  constructor(private readonly events: FeedEvents) {}

  start(symbols: string[]): void {
    for (const s of symbols) this.symbols.add(s);
    void this.connect();
  }

  subscribe(symbol: string): void {
    this.symbols.add(symbol);
    this.send({ type: 'subscribe', symbols: [symbol] });
  }

  unsubscribe(symbol: string): void {
    this.symbols.delete(symbol);
    this.send({ type: 'unsubscribe', symbols: [symbol] });
  }

  /** Forget a symbol the server refused, without telling it. */
  drop(symbol: string): void {
    this.symbols.delete(symbol);
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private async connect(): Promise<void> {
    this.events.state(this.reconnects === 0 ? 'connecting' : 'reconnecting', 'opening a session');
    let url: string;
    try {
      const res = await fetch('/session', { method: 'POST' });
      if (!res.ok) throw new Error(`POST /session answered ${res.status}`);
      url = ((await res.json()) as { websocket_url: string }).websocket_url;
    } catch (err) {
      this.retry(`session failed: ${(err as Error).message}`);
      return;
    }
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.events.state('live', this.reconnects === 0 ? 'connected' : `reconnected${this.cursor ? ', resumed' : ''}`);
      if (this.symbols.size > 0) {
        this.send({ type: 'subscribe', symbols: [...this.symbols], ...(this.cursor ? { since: this.cursor } : {}) });
      }
    };
    socket.onmessage = (event) => this.onMessage(String(event.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.retry(event.reason || `closed (${event.code})`);
    };
  }

  private retry(why: string): void {
    this.reconnects++;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt++);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.events.state(navigator.onLine ? 'reconnecting' : 'offline', why);
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => void this.connect(), delay);
  }

  private onMessage(raw: string): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(raw) as ServerMessage;
    } catch {
      return;
    }
    switch (msg.type) {
      case 'price_update':
        if (msg.cursor && (!this.cursor || BigInt(msg.cursor) > BigInt(this.cursor))) this.cursor = msg.cursor;
        this.events.prices(msg.data, msg.snapshot === true);
        break;
      case 'subscribed':
        this.events.subscribed(msg.symbols, msg.rejected ?? []);
        break;
      case 'error':
        this.events.error(msg.message);
        break;
      case 'stale':
        this.events.stale(msg.symbol, msg.since);
        break;
      case 'reconnect':
        this.events.state('reconnecting', `server ${msg.reason}`);
        break;
      default:
        break;
    }
  }
}
