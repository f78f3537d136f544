import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

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

export const TypedMessage = Type.Object({ type: Type.String() });

export const clientMessageCheckers = {
  typed: TypeCompiler.Compile(TypedMessage),
  subscribe: TypeCompiler.Compile(SubscribeMessage),
  unsubscribe: TypeCompiler.Compile(UnsubscribeMessage),
};

export type ClientMessage = SubscribeMessage | UnsubscribeMessage;

export type DecodedClientMessage = { ok: true; message: ClientMessage } | { ok: false; error: string };

/** Decodes one client frame into a subscribe/unsubscribe message, or the error text to send back. */
export function decodeClientMessage(raw: string): DecodedClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'Malformed JSON' };
  }
  if (!clientMessageCheckers.typed.Check(value)) return { ok: false, error: 'Message must be a JSON object with a string "type"' };
  const checker =
    value.type === 'subscribe' ? clientMessageCheckers.subscribe : value.type === 'unsubscribe' ? clientMessageCheckers.unsubscribe : undefined;
  if (!checker) return { ok: false, error: `Unknown message type: ${value.type.slice(0, 32)}` };
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    return { ok: false, error: `Invalid ${value.type} message: ${first ? `${first.path || '/'} ${first.message}` : 'bad shape'}` };
  }
  return { ok: true, message: value as ClientMessage };
}
