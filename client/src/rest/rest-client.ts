import type { SymbolsReply } from '@lizards/contract';
import { LizardsError, LizardsHttpError } from '../errors.js';
import type { CandlesQuery, CandlesReply, HistoryPage, HistoryQuery, StoredPrice } from './price-types.js';

/** `fetch` as browsers and Node.js 20 have it (or a stand-in with the same signature). */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface RestClientOptions {
  /** The gateway, e.g. `http://127.0.0.1:8080` (in a page of the dashboard: `location.origin`). */
  baseUrl: string;
  /** Default: the global `fetch` (browsers, Node.js 20). */
  fetch?: FetchFunction;
  /** Sent with every request, e.g. `{ 'X-API-Key': '…' }` for a rate-limit bucket of your own. */
  headers?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

function isoOf(value: Date | string): string {
  return typeof value === 'string' ? value : value.toISOString();
}

function queryString(query: Record<string, Date | string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, typeof value === 'number' ? String(value) : isoOf(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The REST side: `GET /symbols`, `/prices/:symbol`, `/prices/:symbol/history` (every page, following `next`),
 * `/prices/:symbol/candles`, and `POST /session`. Non-2xx answers throw `LizardsHttpError`.
 */
export class RestClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchFunction;
  private readonly headers: Record<string, string>;

  constructor(opts: RestClientOptions) {
    this.baseUrl = new URL(opts.baseUrl).origin;
    // A browser's fetch must be called on the global object ("Illegal invocation" otherwise).
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.headers = { accept: 'application/json', ...opts.headers };
  }

  /** Every symbol with at least one stored price. */
  async symbols(opts: CallOptions = {}): Promise<string[]> {
    return (await this.getJson<SymbolsReply>('/symbols', opts)).symbols;
  }

  /** The latest stored price of `symbol` (404 → `LizardsHttpError` with status 404 for an unknown one). */
  latest(symbol: string, opts: CallOptions = {}): Promise<StoredPrice> {
    return this.getJson<StoredPrice>(`/prices/${encodeURIComponent(symbol)}`, opts);
  }

  /**
   * The pages of `symbol`'s history in `query`'s range, oldest first: each page's `next` is followed until a page
   * has none (a server that does not page answers one page). `limit` is the page size.
   */
  async *historyPages(symbol: string, query: HistoryQuery = {}, opts: CallOptions = {}): AsyncGenerator<HistoryPage> {
    let url = new URL(`/prices/${encodeURIComponent(symbol)}/history${queryString({ ...query })}`, this.baseUrl);
    const seen = new Set<string>();
    for (;;) {
      seen.add(url.href);
      const page = await this.getJson<HistoryPage>(url, opts);
      yield page;
      if (!page.next) return;
      const next = new URL(page.next, url);
      // The cursor in `next` is the server's; where it leads is ours to check.
      if (next.origin !== url.origin)
        throw new LizardsError('LZ_ERR_CLIENT_BAD_NEXT', `history page links to another origin: ${next.origin}`);
      if (seen.has(next.href))
        throw new LizardsError(
          'LZ_ERR_CLIENT_BAD_NEXT',
          `history page links back to a page already read: ${next.pathname}${next.search}`,
        );
      url = next;
    }
  }

  /** Every tick of `symbol` in `query`'s range, oldest first, from all its pages. */
  async history(symbol: string, query: HistoryQuery = {}, opts: CallOptions = {}): Promise<StoredPrice[]> {
    const prices: StoredPrice[] = [];
    for await (const page of this.historyPages(symbol, query, opts)) prices.push(...page.prices);
    return prices;
  }

  /** OHLC candles of `symbol` (`interval` defaults to `1m` on the server; at most 10000 per request). */
  candles(symbol: string, query: CandlesQuery = {}, opts: CallOptions = {}): Promise<CandlesReply> {
    return this.getJson<CandlesReply>(
      `/prices/${encodeURIComponent(symbol)}/candles${queryString({ ...query })}`,
      opts,
    );
  }

  /** `POST /session`: the `websocket_url` a socket opens within the token's lifetime (60 s by default). */
  async session(opts: CallOptions = {}): Promise<string> {
    return (await this.send<{ websocket_url: string }>(new URL('/session', this.baseUrl), 'POST', opts)).websocket_url;
  }

  private getJson<T>(path: string | URL, opts: CallOptions): Promise<T> {
    return this.send<T>(typeof path === 'string' ? new URL(path, this.baseUrl) : path, 'GET', opts);
  }

  private async send<T>(url: URL, method: 'GET' | 'POST', opts: CallOptions): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(url.href, {
        method,
        headers: this.headers,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new LizardsError('LZ_ERR_CLIENT_REQUEST', `${method} ${url.pathname} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch (err) {
      if (res.ok)
        throw new LizardsError(
          'LZ_ERR_CLIENT_REQUEST',
          `${method} ${url.pathname} answered ${res.status} with a body that is not JSON`,
          { cause: err },
        );
    }
    if (!res.ok) {
      const error = (body ?? {}) as { message?: unknown; code?: unknown };
      const message = typeof error.message === 'string' ? error.message : text.slice(0, 200) || res.statusText;
      throw new LizardsHttpError(
        res.status,
        `${method} ${url.pathname} answered ${res.status}: ${message}`,
        typeof error.code === 'string' ? error.code : undefined,
        retryAfterMs(res.headers.get('retry-after')),
      );
    }
    return body as T;
  }
}
