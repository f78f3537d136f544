import { readerSchema, serverMessageSchemas, type ServerMessage } from '@lizards/contract';
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';

/**
 * The hub's messages (@lizards/contract) as this client reads them: it takes properties a newer server adds, and a
 * price without its `source` (its events carry one only when it came).
 */
const readers: Record<string, TSchema> = Object.fromEntries(
  Object.entries(serverMessageSchemas).map(([type, schema]) => [
    type,
    readerSchema(schema, type === 'price_update' ? { optional: ['source'] } : {}),
  ]),
);

export type DecodedServerMessage =
  | { ok: true; message: ServerMessage }
  /** A message type this client does not know: a newer server's addition, ignored. */
  | { ok: true; message: undefined }
  | { ok: false; error: string };

/** The first error, inside the variant that came closest (fewest errors) where no variant of a union fits. */
function firstError(errors: Iterable<ValueError>): ValueError | undefined {
  for (const error of errors) {
    if (error.type !== ValueErrorType.Union || error.errors.length === 0) return error;
    const variants = error.errors.map((variant) => [...variant]);
    const closest = variants.reduce((a, b) => (b.length < a.length ? b : a));
    return firstError(closest) ?? error;
  }
  return undefined;
}

/** Parses one text frame from the hub and checks it against the schema of its `type`. */
export function decodeServerMessage(raw: unknown): DecodedServerMessage {
  if (typeof raw !== 'string') return { ok: false, error: 'a binary frame; the protocol sends JSON text' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, error: `not JSON: ${raw.slice(0, 80)}` };
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return { ok: false, error: 'a message without a string "type"' };
  if (!Object.hasOwn(readers, type)) return { ok: true, message: undefined };
  const schema = readers[type]!;
  if (!Value.Check(schema, value)) {
    const first = firstError(Value.Errors(schema, value));
    return {
      ok: false,
      error: `a ${type} message of the wrong shape${first ? `: ${first.path || '/'} ${first.message}` : ''}`,
    };
  }
  return { ok: true, message: value as ServerMessage };
}
