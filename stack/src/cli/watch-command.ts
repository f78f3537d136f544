import WebSocket from 'ws';
import { type AlertSpec, type AlertTriggered, LizardsClient, type LivePrice } from '@lizards/client';

export interface WatchOptions {
  gatewayUrl: string;
  symbols: string[];
  /** Price alerts to set; each fires once, printed as an ALERT line. */
  alerts?: AlertSpec[];
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  color: boolean;
  signal: AbortSignal;
}

export const WATCH_USAGE = `watch SYMBOL... [--above SYMBOL=PRICE] [--below SYMBOL=PRICE] [--change SYMBOL=PCT/SECONDS]
                    stream live prices through the gateway (GATEWAY_URL, default http://127.0.0.1:8080);
                    each flag sets a price alert (--change NVDA=-5/300: down 5 % within 300 s), printed once`;

const NUMBER = String.raw`[-+]?\d+(?:\.\d+)?`;
const ALERT_FLAGS: Record<string, { pattern: RegExp; spec: (symbol: string, m: RegExpExecArray) => AlertSpec }> = {
  '--above': { pattern: new RegExp(`^(${NUMBER})$`), spec: (symbol, m) => ({ symbol, above: Number(m[1]) }) },
  '--below': { pattern: new RegExp(`^(${NUMBER})$`), spec: (symbol, m) => ({ symbol, below: Number(m[1]) }) },
  '--change': {
    pattern: new RegExp(`^(${NUMBER})/(\\d+)$`),
    spec: (symbol, m) => ({ symbol, change_pct: Number(m[1]), window_s: Number(m[2]) }),
  },
};

/**
 * `watch`'s arguments: the symbols, and the alerts of `--above/--below SYMBOL=PRICE` and `--change SYMBOL=PCT/SECONDS`
 * (an alert's symbol is watched too). The server checks the values themselves (an `error` line when it refuses one).
 */
export function parseWatchArgs(args: string[]): { symbols: string[]; alerts: AlertSpec[] } | { error: string } {
  const symbols = new Set<string>();
  const alerts: AlertSpec[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = ALERT_FLAGS[arg];
    if (!flag) {
      if (arg.startsWith('-')) return { error: `unknown option ${arg}` };
      if (arg.trim()) symbols.add(arg.trim().toUpperCase());
      continue;
    }
    const value = args[++i] ?? '';
    const eq = value.indexOf('=');
    const [symbol, level] = eq < 0 ? ['', ''] : [value.slice(0, eq), value.slice(eq + 1)];
    const m = flag.pattern.exec(level);
    if (!symbol.trim() || !m)
      return { error: `${arg} ${value}: expected ${arg} SYMBOL=${arg === '--change' ? 'PCT/SECONDS' : 'PRICE'}` };
    const spec = flag.spec(symbol.trim().toUpperCase(), m);
    symbols.add(spec.symbol);
    alerts.push(spec);
  }
  if (symbols.size === 0) return { error: 'name at least one symbol' };
  return { symbols: [...symbols], alerts };
}

const describeCondition = (a: AlertTriggered): string => {
  const c = a.condition;
  if ('above' in c) return `at or above ${c.above}`;
  if ('below' in c) return `at or below ${c.below}`;
  return `${c.change_pct > 0 ? '+' : ''}${c.change_pct} % within ${c.window_s} s`;
};

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
  for (const spec of opts.alerts ?? []) live.alert(spec);
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
    live.on('alert_triggered', (a) => {
      const time = new Date(a.timestamp).toISOString().slice(11, 23);
      opts.out.write(paint(1, `${time}  ALERT  ${a.symbol} ${a.price.toFixed(2)} (${describeCondition(a)})\n`));
    });
    live.on('stale', ({ symbol, since }) => opts.err.write(paint(33, `${symbol}: no new price since ${since}\n`)));
    live.on('error', (e) => {
      // Session and socket failures are told by the reconnect line that follows; a refused alert is a server error.
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
