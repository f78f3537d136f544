import { request } from 'undici';
import WebSocket from 'ws';

interface PriceEntry {
  price: number;
  timestamp: string;
  source?: string;
}

type ServerMessage =
  | { type: 'price_update'; data: Record<string, PriceEntry>; cursor?: string; snapshot?: boolean }
  | { type: 'subscribed'; symbols: string[]; rejected?: { symbol: string; reason: string }[] }
  | { type: 'error'; message: string }
  | { type: 'stale'; symbol: string; since: string }
  | { type: 'reconnect'; reason: string }
  | { type: string };

export interface WatchOptions {
  gatewayUrl: string;
  symbols: string[];
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  signal: AbortSignal;
}

const MAX_BACKOFF_MS = 5000;

async function openSession(gatewayUrl: string): Promise<string> {
  const res = await request(`${gatewayUrl}/session`, { method: 'POST' });
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`POST /session answered ${res.statusCode}: ${body}`);
  return (JSON.parse(body) as { websocket_url: string }).websocket_url;
}

/**
 * Streams prices of `symbols` through the gateway, one line per price, until aborted. Reconnects on its own
 * and resumes from the last cursor, so a provider going away loses no price. Resolves with the exit code.
 */
export function watchCommand(opts: WatchOptions): Promise<number> {
  const paint = (code: number, text: string) => (opts.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const last = new Map<string, number>();
  const open = new Map<string, number>();
  const wanted = new Set(opts.symbols);
  let cursor: string | undefined;
  let attempt = 0;
  let socket: WebSocket | undefined;

  const print = (symbol: string, p: PriceEntry, snapshot: boolean) => {
    const before = last.get(symbol);
    last.set(symbol, p.price);
    if (!open.has(symbol)) open.set(symbol, p.price);
    const change = p.price - open.get(symbol)!;
    const arrow = before === undefined || before === p.price ? ' ' : p.price > before ? paint(32, '▲') : paint(31, '▼');
    const changeText = `${change >= 0 ? '+' : ''}${change.toFixed(2)}`;
    const time = new Date(p.timestamp).toISOString().slice(11, 23);
    opts.out.write(
      `${time}  ${symbol.padEnd(6)} ${arrow} ${p.price.toFixed(2).padStart(10)}  ${paint(change > 0 ? 32 : change < 0 ? 31 : 0, changeText.padStart(8))}` +
        `${snapshot ? paint(2, '  (last stored)') : ''}\n`,
    );
  };

  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      socket?.close(1000);
      resolve(code);
    };
    opts.signal.addEventListener('abort', () => finish(0), { once: true });

    const retry = (why: string) => {
      if (done) return;
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt++);
      opts.err.write(paint(33, `connection lost (${why}); reconnecting in ${(delay / 1000).toFixed(1)} s\n`));
      setTimeout(() => void connect(), delay);
    };

    const connect = async () => {
      if (done) return;
      let url: string;
      try {
        url = await openSession(opts.gatewayUrl);
      } catch (err) {
        retry((err as Error).message);
        return;
      }
      const ws = new WebSocket(url);
      socket = ws;
      ws.on('open', () => {
        const resumed = attempt > 0 && cursor !== undefined;
        attempt = 0;
        if (resumed) opts.err.write(paint(33, `reconnected, resuming after ${cursor}\n`));
        ws.send(JSON.stringify({ type: 'subscribe', symbols: [...wanted], ...(cursor ? { since: cursor } : {}) }));
      });
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as ServerMessage;
        if (msg.type === 'price_update' && 'data' in msg) {
          if (msg.cursor && (!cursor || BigInt(msg.cursor) > BigInt(cursor))) cursor = msg.cursor;
          for (const [symbol, p] of Object.entries(msg.data)) print(symbol, p, msg.snapshot === true);
        } else if (msg.type === 'subscribed' && 'symbols' in msg) {
          for (const r of msg.rejected ?? []) wanted.delete(r.symbol);
          if (wanted.size === 0) finish(1);
        } else if (msg.type === 'error' && 'message' in msg) {
          opts.err.write(paint(31, `error: ${msg.message}\n`));
        } else if (msg.type === 'stale' && 'symbol' in msg) {
          opts.err.write(paint(33, `${msg.symbol}: no new price since ${msg.since}\n`));
        }
      });
      ws.on('error', () => undefined);
      ws.on('close', (code, reason) => {
        if (socket === ws) retry(reason.toString() || `close ${code}`);
      });
    };
    void connect();
  });
}
