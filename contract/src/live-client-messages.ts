import { Type, type Static } from '@sinclair/typebox';

// The messages a client sends to the provider's hub: the hub decodes every frame with these schemas
// (provider/src/hub/client-messages.ts) and the gateway publishes them in its AsyncAPI document. A new client message
// gets its schema here, an entry in clientMessageSchemas and a handler in the hub.

/** Hard cap on list length before the per-connection limit is even looked at. */
const MAX_LIST = 1000;

export const SubscribeMessage = Type.Object({
  type: Type.Literal('subscribe'),
  symbols: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: MAX_LIST }),
  since: Type.Optional(Type.String({ pattern: '^\\d{1,19}$' })),
});
export type SubscribeMessage = Static<typeof SubscribeMessage>;

export const UnsubscribeMessage = Type.Object({
  type: Type.Literal('unsubscribe'),
  symbols: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: MAX_LIST }),
});
export type UnsubscribeMessage = Static<typeof UnsubscribeMessage>;

const AlertId = Type.String({ minLength: 1, maxLength: 64 });
const AlertBase = {
  type: Type.Literal('alert'),
  id: AlertId,
  symbol: Type.String({ minLength: 1, maxLength: 64 }),
  /** Check the stored ticks after this cursor first (resuming an alert after a reconnect). */
  since: Type.Optional(Type.String({ pattern: '^\\d{1,19}$' })),
};
const Price = Type.Number({ exclusiveMinimum: 0 });
/** Largest `window_s` of a `change_pct` alert: the ticks inside the window are kept while it is set. */
const MAX_WINDOW_S = 3600;

const strict = { additionalProperties: false };
export const AboveAlert = Type.Object({ ...AlertBase, above: Price }, strict);
export const BelowAlert = Type.Object({ ...AlertBase, below: Price }, strict);
export const ChangeAlert = Type.Object(
  {
    ...AlertBase,
    /** Signed: +5 fires on a rise of 5 % or more, -5 on a fall of 5 % or more. */
    change_pct: Type.Number({ exclusiveMinimum: -100, maximum: 1000 }),
    window_s: Type.Integer({ minimum: 1, maximum: MAX_WINDOW_S }),
  },
  strict,
);
/** One of three conditions. */
export const AlertMessage = Type.Union([AboveAlert, BelowAlert, ChangeAlert]);
export type AlertMessage = Static<typeof AlertMessage>;

export const AlertCancelMessage = Type.Object({ type: Type.Literal('alert_cancel'), id: AlertId }, strict);
export type AlertCancelMessage = Static<typeof AlertCancelMessage>;

/** Every message a client may send, by `type`. */
export const clientMessageSchemas = {
  subscribe: SubscribeMessage,
  unsubscribe: UnsubscribeMessage,
  alert: AlertMessage,
  alert_cancel: AlertCancelMessage,
};

export type ClientMessageType = keyof typeof clientMessageSchemas;
export type ClientMessageOf<K extends ClientMessageType> = Static<(typeof clientMessageSchemas)[K]>;
export type ClientMessage = { [K in ClientMessageType]: ClientMessageOf<K> }[ClientMessageType];
