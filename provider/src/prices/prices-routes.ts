import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import {
  pricesOperations,
  type CandleInterval,
  type CandlesQuery,
  type HistoryQuery,
  type SymbolParams,
} from '@lizards/contract';
import { BadRangeError, UnknownSymbolError } from '@lizards/lib';
import type { HistoryPosition, HistoryRepository, PriceRepository } from '../store/price-repository.js';
import { readWithin, STORE_READ_TIMEOUT_MS } from '../store/store-availability.js';
import type { StoredTick } from '../ticks/tick-schema.js';

export interface PricesRoutesOptions {
  /** The latest prices (the primary: the same the WebSocket hub reads). */
  live: PriceRepository;
  /** Symbols, history and candles (a replica when one is configured). */
  history: HistoryRepository;
  /** Default history window when `from` is not given. */
  defaultHistoryMs?: number;
  maxHistoryLimit?: number;
  /** A read not answered within this is a 503 with Retry-After (the store is unavailable for now). */
  readTimeoutMs?: number;
  now?: () => number;
}

const CANDLE_SECONDS: Record<CandleInterval, number> = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86_400 };
const MAX_CANDLES = 10_000;
/** Ticks per history page unless `limit` asks for fewer or more (up to the maximum). */
const HISTORY_PAGE = 1000;

function priceJson(t: StoredTick) {
  return {
    symbol: t.symbol,
    price: t.price,
    timestamp: t.timestamp.toISOString(),
    source: t.source,
    volume: t.volume,
    seq: t.seq,
  };
}

function parseCursor(cursor: string): HistoryPosition {
  const [atMicros, seq] = cursor.split('_') as [string, string];
  return { atMicros, seq };
}

function nextPageUrl(symbol: string, page: { from: Date; to: Date; limit: number; cursor: HistoryPosition }): string {
  const query = new URLSearchParams({
    from: page.from.toISOString(),
    to: page.to.toISOString(),
    limit: String(page.limit),
    cursor: `${page.cursor.atMicros}_${page.cursor.seq}`,
  });
  return `/prices/${symbol}/history?${query}`;
}

async function pricesRoutes(app: FastifyInstance, opts: PricesRoutesOptions): Promise<void> {
  const { live, history } = opts;
  const now = opts.now ?? Date.now;
  // Each request's reads together, so that a request is answered within the bound whatever it reads.
  const bounded = <T>(reads: Promise<T>) => readWithin(reads, opts.readTimeoutMs ?? STORE_READ_TIMEOUT_MS);
  const defaultWindow = opts.defaultHistoryMs ?? 3_600_000;

  const requireSymbol = async (symbol: string): Promise<void> => {
    if (!(await history.knownSymbols([symbol])).has(symbol)) throw new UnknownSymbolError(symbol);
  };
  const range = (q: { from?: string; to?: string }) => {
    const to = q.to ? new Date(q.to) : new Date(now());
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaultWindow);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
      throw new BadRangeError('from/to must be ISO-8601 date-times');
    if (from >= to) throw new BadRangeError('from must be before to');
    return { from, to, closed: q.to !== undefined && to.getTime() < now() };
  };
  // A range that ended in the past no longer changes; the open end of "now" changes every tick.
  const cacheControl = (closed: boolean) => (closed ? 'public, max-age=300' : 'public, max-age=1');

  const { symbols: symbolsRoute, latest: latestRoute, history: historyRoute, candles: candlesRoute } = pricesOperations;
  app.get(symbolsRoute.url, { schema: symbolsRoute.schema }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=10');
    return { symbols: (await bounded(history.listSymbols())).map((s) => s.symbol) };
  });

  app.get<{ Params: SymbolParams }>(latestRoute.url, { schema: latestRoute.schema }, async (request, reply) => {
    const [tick] = await bounded(live.latest([request.params.symbol]));
    if (!tick) throw new UnknownSymbolError(request.params.symbol);
    reply.header('cache-control', 'public, max-age=1');
    return priceJson(tick);
  });

  app.get<{ Params: SymbolParams; Querystring: HistoryQuery }>(
    historyRoute.url,
    { schema: historyRoute.schema },
    async (request, reply) => {
      const { symbol } = request.params;
      const { from, to, closed } = range(request.query);
      const limit = Math.min(request.query.limit ?? HISTORY_PAGE, opts.maxHistoryLimit ?? 10_000);
      const after = request.query.cursor === undefined ? undefined : parseCursor(request.query.cursor);
      const page = await bounded(
        requireSymbol(symbol).then(() => history.history({ symbol, from, to, limit, ...(after ? { after } : {}) })),
      );
      // The next page's link repeats the resolved range (`to` fixed even when it was "now"), so pages never overlap.
      const next = page.next ? nextPageUrl(symbol, { from, to, limit, cursor: page.next }) : null;
      if (next) reply.header('link', `<${next}>; rel="next"`);
      reply.header('cache-control', cacheControl(closed));
      return { symbol, from: from.toISOString(), to: to.toISOString(), prices: page.ticks.map(priceJson), next };
    },
  );

  app.get<{ Params: SymbolParams; Querystring: CandlesQuery }>(
    candlesRoute.url,
    { schema: candlesRoute.schema },
    async (request, reply) => {
      const { symbol } = request.params;
      const interval = request.query.interval ?? '1m';
      const seconds = CANDLE_SECONDS[interval];
      const { from, to, closed } = range(request.query);
      if ((to.getTime() - from.getTime()) / 1000 / seconds > MAX_CANDLES)
        throw new BadRangeError(`at most ${MAX_CANDLES} candles per request`);
      const candles = await bounded(requireSymbol(symbol).then(() => history.candles(symbol, seconds, from, to)));
      reply.header('cache-control', cacheControl(closed));
      return { symbol, interval, candles: candles.map((c) => ({ ...c, start: c.start.toISOString() })) };
    },
  );
}

/** `GET /symbols`, `/prices/:symbol`, `/prices/:symbol/history`, `/prices/:symbol/candles`: read-only, cacheable. */
export const pricesRoutesPlugin = fp(pricesRoutes, { name: 'provider-prices-routes', fastify: '5.x' });
