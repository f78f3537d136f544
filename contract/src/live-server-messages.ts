import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SYMBOL_PATTERN } from './symbol-pattern.js';

// The messages the provider's hub sends. Most are written by hand (hub.ts, client-connection.ts) or serialized once
// per round (update-encoder.ts); these schemas are their contract: `sendJson` and the encoder take only these types,
// the gateway publishes them in its AsyncAPI document, a real session is checked against them
// (stack/test/api-contract.test.ts), and @lizards/client reads them through `readerSchema`. A new server message gets
// its schema here and an entry in serverMessageSchemas.

const SymbolName = Type.String({ pattern: SYMBOL_PATTERN });
const Cursor = Type.String({
  pattern: '^\\d{1,19}$',
  description: 'the highest stored seq so far: send it back as `since` to resume',
});
/** ISO-8601 in UTC, milliseconds only when there are some (`2024-09-14T12:34:56Z`). */
const Timestamp = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$' });

const Price = { price: Type.Number(), timestamp: Timestamp, source: Type.String() };
const PriceEntry = Type.Object(Price, { additionalProperties: false });
const ProvisionalPriceEntry = Type.Object(
  { ...Price, provisional: Type.Literal(true) },
  { additionalProperties: false },
);
const pricesBySymbol = <T extends TSchema>(entry: T) => Type.Record(SymbolName, entry, { additionalProperties: false });

export const PriceUpdateMessage = Type.Union(
  [
    Type.Object(
      { type: Type.Literal('price_update'), snapshot: Type.Literal(true), data: pricesBySymbol(PriceEntry) },
      { additionalProperties: false, description: 'the latest stored prices, on subscribe; no cursor' },
    ),
    Type.Object(
      { type: Type.Literal('price_update'), data: pricesBySymbol(PriceEntry), cursor: Cursor },
      { additionalProperties: false, description: 'stored ticks, a symbol at most once per message' },
    ),
    Type.Object(
      { type: Type.Literal('price_update'), data: pricesBySymbol(ProvisionalPriceEntry) },
      { additionalProperties: false, description: 'ticks not stored yet (the store is down or behind); no cursor' },
    ),
  ],
  { description: 'prices: a snapshot, stored ticks (with a cursor), or provisional ticks' },
);

/** A tick of a `stored` notice. */
export const StoredTickEntry = Type.Object(
  { symbol: SymbolName, timestamp: Timestamp, source: Type.String() },
  { additionalProperties: false },
);
export type StoredTickEntry = Static<typeof StoredTickEntry>;

export const StoredMessage = Type.Object(
  {
    type: Type.Literal('stored'),
    ticks: Type.Array(StoredTickEntry),
    cursor: Cursor,
  },
  {
    additionalProperties: false,
    description: 'ticks this client was sent provisionally are now stored (they are not sent again)',
  },
);

/** A symbol `subscribe` asked for and did not get. */
export const Rejection = Type.Object(
  {
    symbol: Type.String({ description: 'as the client wrote it' }),
    reason: Type.Union([Type.Literal('invalid symbol'), Type.Literal('unknown symbol')]),
  },
  { additionalProperties: false },
);
export type Rejection = Static<typeof Rejection>;

export const SubscribedMessage = Type.Object(
  {
    type: Type.Literal('subscribed'),
    symbols: Type.Array(SymbolName),
    rejected: Type.Array(Rejection),
  },
  { additionalProperties: false, description: 'the answer to subscribe' },
);

export const UnsubscribedMessage = Type.Object(
  { type: Type.Literal('unsubscribed'), symbols: Type.Array(SymbolName) },
  { additionalProperties: false, description: 'the answer to unsubscribe' },
);

export const ErrorMessage = Type.Object(
  {
    type: Type.Literal('error'),
    message: Type.String(),
    id: Type.Optional(Type.String({ description: 'the alert the error is about: it is not set' })),
  },
  {
    additionalProperties: false,
    description: 'bad input, an unknown symbol, too many subscribe requests, a resume gap too large, an alert refused',
  },
);

const AlertId = Type.String({ minLength: 1, maxLength: 64 });
export const AlertCondition = Type.Union([
  Type.Object({ above: Type.Number() }, { additionalProperties: false }),
  Type.Object({ below: Type.Number() }, { additionalProperties: false }),
  Type.Object({ change_pct: Type.Number(), window_s: Type.Integer() }, { additionalProperties: false }),
]);
export type AlertCondition = Static<typeof AlertCondition>;

export const AlertSetMessage = Type.Object(
  { type: Type.Literal('alert_set'), id: AlertId, symbol: SymbolName, condition: AlertCondition, cursor: Cursor },
  {
    additionalProperties: false,
    description: 'the answer to alert: set, and checked against every stored tick up to `cursor`',
  },
);

export const AlertTriggeredMessage = Type.Object(
  {
    type: Type.Literal('alert_triggered'),
    id: AlertId,
    symbol: SymbolName,
    price: Type.Number(),
    condition: AlertCondition,
    seq: Cursor,
    timestamp: Timestamp,
    reference: Type.Optional(
      Type.Object({ price: Type.Number(), timestamp: Timestamp }, { additionalProperties: false }),
    ),
  },
  {
    additionalProperties: false,
    description: 'a stored tick crossed the alert (sent once; the alert is then gone); `reference` for change_pct',
  },
);

export const AlertCancelledMessage = Type.Object(
  { type: Type.Literal('alert_cancelled'), id: AlertId },
  { additionalProperties: false, description: 'the answer to alert_cancel (whether or not the alert was set)' },
);

export const StaleMessage = Type.Object(
  { type: Type.Literal('stale'), symbol: SymbolName, since: Timestamp },
  {
    additionalProperties: false,
    description: 'a subscribed symbol has had no tick for a while; `since` is its last tick',
  },
);

export const ReconnectMessage = Type.Object(
  { type: Type.Literal('reconnect'), reason: Type.Literal('shutdown') },
  { additionalProperties: false, description: 'the server is shutting down: connect again (and resume)' },
);

/** Every message the hub sends, by `type`. */
export const serverMessageSchemas = {
  price_update: PriceUpdateMessage,
  stored: StoredMessage,
  subscribed: SubscribedMessage,
  unsubscribed: UnsubscribedMessage,
  error: ErrorMessage,
  stale: StaleMessage,
  reconnect: ReconnectMessage,
  alert_set: AlertSetMessage,
  alert_triggered: AlertTriggeredMessage,
  alert_cancelled: AlertCancelledMessage,
};

type ServerMessageSchemas = typeof serverMessageSchemas;
export type ServerMessage = {
  [K in keyof ServerMessageSchemas]: Static<ServerMessageSchemas[K]>;
}[keyof ServerMessageSchemas];
