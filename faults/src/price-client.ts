import { request } from 'undici';
import WebSocket from 'ws';
import { waitFor } from '@lizards/testkit';

interface ServerMessage {
  type: string;
  message?: string;
  snapshot?: boolean;
  cursor?: string;
  data?: Record<string, { price: number; timestamp: string; source?: string; provisional?: boolean }>;
  ticks?: { symbol: string; timestamp: string; source?: string }[];
}

/**
 * A WebSocket client of the gateway that records every live tick it receives and, when its socket closes, gets a
 * new session from the gateway and resumes with `since` = the last cursor it saw.
 *
 * A tick counts as received once: as a stored `price_update`, or as a provisional one (PostgreSQL down or behind).
 * A provisional tick is later confirmed by a `stored` message, or — after a reconnect — by its stored version in
 * the resume replay (the replay comes from the store, which cannot know what an earlier connection was shown).
 * The stored version of a tick shown provisionally on the same connection counts as a second receipt: a repeat.
 */
export class PriceClient {
  /** `symbol|ISO timestamp` of every live grpc tick, in arrival order (duplicates kept, to be detected). */
  readonly ticks: string[] = [];
  /** When each key was first received (epoch ms). */
  readonly firstSeenAt = new Map<string, number>();
  /** Keys received provisionally, and the ones among them confirmed stored since. */
  readonly provisional = new Set<string>();
  readonly confirmed = new Set<string>();
  readonly errors: string[] = [];
  readonly closes: number[] = [];
  reconnects = 0;
  cursor: string | undefined;
  socket: WebSocket | undefined;
  private closing = false;

  constructor(
    private readonly gatewayUrl: string,
    private readonly symbols: string[],
  ) {}

  async connect(): Promise<void> {
    this.closing = false;
    const session = await request(`${this.gatewayUrl}/session`, { method: 'POST' });
    if (session.statusCode !== 200)
      throw new Error(`POST /session ${session.statusCode}: ${await session.body.text()}`);
    const { websocket_url } = (await session.body.json()) as { websocket_url: string };
    // The gateway's own origin, as a page of the dashboard would send (what WS_ALLOWED_ORIGINS lists in compose).
    const socket = new WebSocket(websocket_url, { origin: new URL(this.gatewayUrl).origin });
    this.socket = socket;
    const provisionalHere = new Set<string>();
    let subscribed!: () => void;
    const acknowledged = new Promise<void>((resolve) => (subscribed = resolve));
    socket.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as ServerMessage;
      if (msg.type === 'subscribed') subscribed();
      else if (msg.type === 'error') this.errors.push(msg.message ?? '');
      else if (msg.type === 'stored') {
        for (const t of msg.ticks ?? []) if (t.source === 'grpc') this.confirmed.add(keyOf(t.symbol, t.timestamp));
      } else if (msg.type === 'price_update' && !msg.snapshot) {
        for (const [symbol, tick] of Object.entries(msg.data ?? {})) {
          if (tick.source !== 'grpc') continue;
          const key = keyOf(symbol, tick.timestamp);
          if (tick.provisional) {
            this.provisional.add(key);
            provisionalHere.add(key);
          } else if (this.provisional.has(key) && !provisionalHere.has(key)) {
            this.confirmed.add(key);
            continue;
          }
          this.ticks.push(key);
          if (!this.firstSeenAt.has(key)) this.firstSeenAt.set(key, Date.now());
        }
      }
      if ((msg.type === 'price_update' || msg.type === 'stored') && msg.cursor !== undefined) {
        if (this.cursor === undefined || BigInt(msg.cursor) > BigInt(this.cursor)) this.cursor = msg.cursor;
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    socket.once('close', (code) => {
      this.closes.push(code);
      if (!this.closing) void this.reconnect();
    });
    socket.send(
      JSON.stringify({ type: 'subscribe', symbols: this.symbols, ...(this.cursor ? { since: this.cursor } : {}) }),
    );
    await acknowledged;
  }

  private async reconnect(): Promise<void> {
    await waitFor(
      async () => {
        if (this.closing) return true;
        try {
          await this.connect();
          this.reconnects++;
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      'the client to reconnect',
      200,
    ).catch((err: Error) => this.errors.push(err.message));
  }

  /** Provisional ticks not confirmed stored (yet). */
  unconfirmed(): string[] {
    return [...this.provisional].filter((k) => !this.confirmed.has(k));
  }

  /** Waits until this client has received every key of `expected`, and every provisional one is confirmed. */
  async waitForAll(expected: Iterable<string>, timeoutMs = 30_000): Promise<void> {
    const want = [...expected];
    await waitFor(
      () => {
        const have = new Set(this.ticks);
        return want.every((k) => have.has(k)) && this.unconfirmed().length === 0;
      },
      timeoutMs,
      `${want.length} ticks at the client`,
      100,
    ).catch(() => undefined);
  }

  /** Closes the socket without reconnecting; `connect()` later resumes from the last cursor. */
  close(): void {
    this.closing = true;
    this.socket?.close();
  }
}

function keyOf(symbol: string, timestamp: string): string {
  return `${symbol}|${new Date(timestamp).toISOString()}`;
}
