import { Type, type Static } from '@sinclair/typebox';
import { errorReply } from './error-body.js';
import { CandleInterval, CandlesReply, HistoryPage, StoredPrice, SymbolsReply } from './prices-replies.js';
import { SYMBOL_PATTERN } from './symbol-pattern.js';

// The provider's public routes: method, path and schemas of each. The provider registers its routes with these
// (provider/src/prices/, session/, hub/ws-routes.ts) and the gateway publishes them in its OpenAPI document, so a
// route and its documentation are one definition.

/**
 * A history page's end: the last tick's time in µs since the epoch and its seq (the provider's HistoryPosition); both
 * fit a bigint.
 */
const CURSOR_PATTERN = '^-?\\d{1,16}_\\d{1,18}$';

export const SymbolParams = Type.Object({ symbol: Type.String({ pattern: SYMBOL_PATTERN }) });
export type SymbolParams = Static<typeof SymbolParams>;

const Range = {
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
};
export const HistoryQuery = Type.Object(
  {
    ...Range,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    cursor: Type.Optional(Type.String({ pattern: CURSOR_PATTERN })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;
export const CandlesQuery = Type.Object(
  { ...Range, interval: Type.Optional(CandleInterval) },
  { additionalProperties: false },
);
export type CandlesQuery = Static<typeof CandlesQuery>;

const BadRequest = errorReply('invalid symbol, parameters or range');
const UnknownSymbol = errorReply('unknown symbol');

/** `GET /symbols`, `/prices/:symbol`, `/prices/:symbol/history`, `/prices/:symbol/candles`. */
export const pricesOperations = {
  symbols: {
    method: 'GET',
    url: '/symbols',
    schema: { summary: 'Known symbols', response: { 200: SymbolsReply } },
  },
  latest: {
    method: 'GET',
    url: '/prices/:symbol',
    schema: {
      summary: 'Latest stored price of a symbol',
      params: SymbolParams,
      response: { 200: StoredPrice, 400: BadRequest, 404: UnknownSymbol },
    },
  },
  history: {
    method: 'GET',
    url: '/prices/:symbol/history',
    schema: {
      summary: 'Stored ticks of a symbol in a time range, oldest first, one page at a time',
      params: SymbolParams,
      querystring: HistoryQuery,
      response: { 200: HistoryPage, 400: BadRequest, 404: UnknownSymbol },
    },
  },
  candles: {
    method: 'GET',
    url: '/prices/:symbol/candles',
    schema: {
      summary: 'OHLC candles of a symbol',
      params: SymbolParams,
      querystring: CandlesQuery,
      response: { 200: CandlesReply, 400: BadRequest, 404: UnknownSymbol },
    },
  },
} as const;

export const SessionReply = Type.Object({
  websocket_url: Type.String({
    description: 'where to open the WebSocket: /ws with a signed session token, valid for connecting only',
  }),
});
export type SessionReply = Static<typeof SessionReply>;

/** `POST /session`. */
export const sessionOperation = {
  method: 'POST',
  url: '/session',
  schema: { summary: 'Open a session: returns the websocket_url to connect to', response: { 200: SessionReply } },
} as const;

/** `GET /ws`, the upgrade to the hub's WebSocket (its messages: live-client-messages.ts, live-server-messages.ts). */
export const wsOperation = {
  method: 'GET',
  url: '/ws',
  schema: {
    summary: 'The live price stream (WebSocket upgrade)',
    querystring: Type.Object({
      token: Type.Optional(Type.String({ maxLength: 2048, description: 'the token in websocket_url' })),
    }),
    response: {
      401: errorReply('missing, invalid or expired session token'),
      403: errorReply('Origin not allowed'),
      429: errorReply('the session holds the most sockets allowed'),
    },
  },
} as const;

/** Every public route of the provider. */
export const providerOperations = [...Object.values(pricesOperations), sessionOperation, wsOperation];
