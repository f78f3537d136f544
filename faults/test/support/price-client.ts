import { request } from 'undici';
import WebSocket from 'ws';
import { waitFor } from '@lizards/testkit';

interface ServerMessage {
  type: string;
  message?: string;
  snapshot?: boolean;
  cursor?: string;
  data?: Record<string, { price: number; timestamp: string; source?: string }>;
}

/**
 * A WebSocket client of the gateway that records every live tick it receives and, when its socket closes, gets a
 * new session from the gateway and resumes with `since` = the last cursor it saw.
 */
export class PriceClient {
  /** `symbol|ISO timestamp` of every live grpc tick, in arrival order (duplicates kept, to be detected). */
  readonly ticks: string[] = [];
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
    const session = await request(`${this.gatewayUrl}/session`, { method: 'POST' });
    if (session.statusCode !== 200) throw new Error(`POST /session ${session.statusCode}: ${await session.body.text()}`);
    const { websocket_url } = (await session.body.json()) as { websocket_url: string };
    const socket = new WebSocket(websocket_url);
    this.socket = socket;
    let subscribed!: () => void;
    const acknowledged = new Promise<void>((resolve) => (subscribed = resolve));
    socket.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as ServerMessage;
      if (msg.type === 'subscribed') subscribed();
      else if (msg.type === 'error') this.errors.push(msg.message ?? '');
      else if (msg.type === 'price_update' && !msg.snapshot) {
        for (const [symbol, tick] of Object.entries(msg.data ?? {})) {
          if (tick.source === 'grpc') this.ticks.push(`${symbol}|${new Date(tick.timestamp).toISOString()}`);
        }
        if (msg.cursor !== undefined && (this.cursor === undefined || BigInt(msg.cursor) > BigInt(this.cursor))) this.cursor = msg.cursor;
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
    socket.send(JSON.stringify({ type: 'subscribe', symbols: this.symbols, ...(this.cursor ? { since: this.cursor } : {}) }));
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

  /** Waits until this client has received every key of `expected`. */
  async waitForAll(expected: Iterable<string>, timeoutMs = 30_000): Promise<void> {
    const want = [...expected];
    await waitFor(
      () => {
        const have = new Set(this.ticks);
        return want.every((k) => have.has(k));
      },
      timeoutMs,
      `${want.length} ticks at the client`,
      100,
    ).catch(() => undefined);
  }

  close(): void {
    this.closing = true;
    this.socket?.close();
  }
}
