import { Type, type Static } from '@sinclair/typebox';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { BadRangeError, UnknownSymbolError } from '../errors.js';
import type { PriceRepository } from '../store/price-repository.js';
import { SYMBOL_PATTERN, type StoredTick } from '../ticks/tick-schema.js';

export interface PricesRoutesOptions {
  repository: PriceRepository;
  /** Default history window when `from` is not given. */
  defaultHistoryMs?: number;
  maxHistoryLimit?: number;
  now?: () => number;
}

const CANDLE_INTERVALS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86_400 } as const;
const MAX_CANDLES = 10_000;

const SymbolParams = Type.Object({ symbol: Type.String({ pattern: SYMBOL_PATTERN }) });
type SymbolParams = Static<typeof SymbolParams>;

const Range = {
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
};
const HistoryQuery = Type.Object({ ...Range, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) }, { additionalProperties: false });
const CandlesQuery = Type.Object(
  { ...Range, interval: Type.Optional(Type.Union(Object.keys(CANDLE_INTERVALS).map((k) => Type.Literal(k)))) },
  { additionalProperties: false },
);

const Price = Type.Object({
  symbol: Type.String(),
  price: Type.Number(),
  timestamp: Type.String(),
  source: Type.String(),
  volume: Type.Union([Type.Integer(), Type.Null()]),
  seq: Type.String(),
});
const Candle = Type.Object({
  start: Type.String(),
  open: Type.Number(),
  high: Type.Number(),
  low: Type.Number(),
  close: Type.Number(),
  volume: Type.Union([Type.Integer(), Type.Null()]),
  ticks: Type.Integer(),
});
const ErrorReply = Type.Object({ error: Type.String(), message: Type.String() });

function priceJson(t: StoredTick) {
  return { symbol: t.symbol, price: t.price, timestamp: t.timestamp.toISOString(), source: t.source, volume: t.volume, seq: t.seq };
}

async function pricesRoutes(app: FastifyInstance, opts: PricesRoutesOptions): Promise<void> {
  const repo = opts.repository;
  const now = opts.now ?? Date.now;
  const defaultWindow = opts.defaultHistoryMs ?? 3_600_000;

  const requireSymbol = async (symbol: string): Promise<void> => {
    if (!(await repo.knownSymbols([symbol])).has(symbol)) throw new UnknownSymbolError(symbol);
  };
  const range = (q: { from?: string; to?: string }) => {
    const to = q.to ? new Date(q.to) : new Date(now());
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaultWindow);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new BadRangeError('from/to must be ISO-8601 date-times');
    if (from >= to) throw new BadRangeError('from must be before to');
    return { from, to, closed: q.to !== undefined && to.getTime() < now() };
  };
  // A range that ended in the past no longer changes; the open end of "now" changes every tick.
  const cacheControl = (closed: boolean) => (closed ? 'public, max-age=300' : 'public, max-age=1');

  app.get('/symbols', { schema: { response: { 200: Type.Object({ symbols: Type.Array(Type.String()) }) } } }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=10');
    return { symbols: (await repo.listSymbols()).map((s) => s.symbol) };
  });

  app.get<{ Params: SymbolParams }>(
    '/prices/:symbol',
    { schema: { params: SymbolParams, response: { 200: Price, 404: ErrorReply } } },
    async (request, reply) => {
      const [tick] = await repo.latest([request.params.symbol]);
      if (!tick) throw new UnknownSymbolError(request.params.symbol);
      reply.header('cache-control', 'public, max-age=1');
      return priceJson(tick);
    },
  );

  app.get<{ Params: SymbolParams; Querystring: Static<typeof HistoryQuery> }>(
    '/prices/:symbol/history',
    { schema: { params: SymbolParams, querystring: HistoryQuery, response: { 200: Type.Object({ symbol: Type.String(), from: Type.String(), to: Type.String(), prices: Type.Array(Price) }) } } },
    async (request, reply) => {
      const { symbol } = request.params;
      const { from, to, closed } = range(request.query);
      await requireSymbol(symbol);
      const limit = Math.min(request.query.limit ?? 1000, opts.maxHistoryLimit ?? 10_000);
      const ticks = await repo.history(symbol, from, to, limit);
      reply.header('cache-control', cacheControl(closed));
      return { symbol, from: from.toISOString(), to: to.toISOString(), prices: ticks.map(priceJson) };
    },
  );

  app.get<{ Params: SymbolParams; Querystring: Static<typeof CandlesQuery> }>(
    '/prices/:symbol/candles',
    { schema: { params: SymbolParams, querystring: CandlesQuery, response: { 200: Type.Object({ symbol: Type.String(), interval: Type.String(), candles: Type.Array(Candle) }) } } },
    async (request, reply) => {
      const { symbol } = request.params;
      const interval = (request.query.interval ?? '1m') as keyof typeof CANDLE_INTERVALS;
      const seconds = CANDLE_INTERVALS[interval];
      const { from, to, closed } = range(request.query);
      if ((to.getTime() - from.getTime()) / 1000 / seconds > MAX_CANDLES) throw new BadRangeError(`at most ${MAX_CANDLES} candles per request`);
      await requireSymbol(symbol);
      const candles = await repo.candles(symbol, seconds, from, to);
      reply.header('cache-control', cacheControl(closed));
      return { symbol, interval, candles: candles.map((c) => ({ ...c, start: c.start.toISOString() })) };
    },
  );
}

/** `GET /symbols`, `/prices/:symbol`, `/prices/:symbol/history`, `/prices/:symbol/candles`: read-only, cacheable. */
export const pricesRoutesPlugin = fp(pricesRoutes, { name: 'provider-prices-routes', fastify: '5.x' });
