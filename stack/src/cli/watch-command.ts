import WebSocket from 'ws';
import { LizardsClient, type LivePrice } from '@lizards/client';

export interface WatchOptions {
  gatewayUrl: string;
  symbols: string[];
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  signal: AbortSignal;
}

/** `ws` with the gateway's own origin: what a page of the dashboard sends, and what WS_ALLOWED_ORIGINS lists. */
function originWebSocket(origin: string) {
  return class OriginWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { origin });
    }
  };
}

/**
 * Streams prices of `symbols` through the gateway, one line per price, until aborted. The client library
 * reconnects and resumes from the last cursor, so a provider going away loses no price. Resolves with the exit code.
 */
export function watchCommand(opts: WatchOptions): Promise<number> {
  const paint = (code: number, text: string) => (opts.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const last = new Map<string, number>();
  const open = new Map<string, number>();

  const print = (p: LivePrice, note: string) => {
    const before = last.get(p.symbol);
    last.set(p.symbol, p.price);
    if (!open.has(p.symbol)) open.set(p.symbol, p.price);
    const change = p.price - open.get(p.symbol)!;
    const arrow = before === undefined || before === p.price ? ' ' : p.price > before ? paint(32, '▲') : paint(31, '▼');
    const changeText = `${change >= 0 ? '+' : ''}${change.toFixed(2)}`;
    const time = new Date(p.timestamp).toISOString().slice(11, 23);
    opts.out.write(
      `${time}  ${p.symbol.padEnd(6)} ${arrow} ${p.price.toFixed(2).padStart(10)}  ` +
        paint(change > 0 ? 32 : change < 0 ? 31 : 0, changeText.padStart(8)) +
        `${note ? paint(2, `  (${note})`) : ''}\n`,
    );
  };

  const client = new LizardsClient({
    baseUrl: opts.gatewayUrl,
    WebSocket: originWebSocket(new URL(opts.gatewayUrl).origin),
  });
  const live = client.live(opts.symbols);
  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      live.close();
      resolve(code);
    };
    if (opts.signal.aborted) return finish(0);
    opts.signal.addEventListener('abort', () => finish(0), { once: true });

    live.on('snapshot', (p) => print(p, 'last stored'));
    live.on('price', (p) => print(p, ''));
    live.on('provisional', (p) => print(p, 'not stored yet'));
    live.on('subscribed', () => {
      if (live.symbols.length === 0) finish(1);
    });
    live.on('stale', ({ symbol, since }) => opts.err.write(paint(33, `${symbol}: no new price since ${since}\n`)));
    live.on('error', (e) => {
      // Session and socket failures are told by the reconnect line that follows them.
      if (e.code === 'LZ_ERR_CLIENT_SERVER' || e.code === 'LZ_ERR_CLIENT_BAD_MESSAGE')
        opts.err.write(paint(31, `error: ${e.message}\n`));
    });
    live.on('reconnecting', ({ delayMs, reason }) =>
      opts.err.write(paint(33, `connection lost (${reason}); reconnecting in ${(delayMs / 1000).toFixed(1)} s\n`)),
    );
    live.on('state', (state, detail) => {
      if (state === 'open' && live.reconnects > 0) opts.err.write(paint(33, `${detail}\n`));
    });
  });
}
