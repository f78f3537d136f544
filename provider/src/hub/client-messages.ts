import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { clientMessageSchemas, type ClientMessage } from '@lizards/contract';
import { decodeAlert, decodeAlertCancel } from './alert-messages.js';

/** `id`: the id of a refused alert message, echoed in the error. */
export type DecodedClientMessage = { ok: true; message: ClientMessage } | { ok: false; error: string; id?: string };

const typed = TypeCompiler.Compile(Type.Object({ type: Type.String() }));
// Maps, not objects: a type such as "constructor" must not find anything.
const checkers = new Map<string, TypeCheck<TSchema>>(
  Object.entries(clientMessageSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
);
/** Types with a decoder of their own: an alert's refusal names its id, and its condition is one of three. */
const decoders = new Map<string, (value: Record<string, unknown>) => DecodedClientMessage>([
  ['alert', decodeAlert],
  ['alert_cancel', decodeAlertCancel],
]);

/** Decodes one client frame into one of the contract's `clientMessageSchemas`, or the error text to send back. */
export function decodeClientMessage(raw: string): DecodedClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'Malformed JSON' };
  }
  if (!typed.Check(value)) return { ok: false, error: 'Message must be a JSON object with a string "type"' };
  const type = value.type;
  const decoder = decoders.get(type);
  if (decoder) return decoder(value);
  const checker = checkers.get(type);
  if (!checker) return { ok: false, error: `Unknown message type: ${type.slice(0, 32)}` };
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const why = first ? `${first.path || '/'} ${first.message}` : 'bad shape';
    return { ok: false, error: `Invalid ${type} message: ${why}` };
  }
  return { ok: true, message: value as ClientMessage };
}
