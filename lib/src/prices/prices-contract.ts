import { FormatRegistry, Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { SYMBOL_PATTERN } from '@lizards/contract';

/*
 * The `prices` message: what ingestion publishes and the provider stores. A message carries the ticks of one
 * source and symbol (routing key = symbol): a lone tick is the tick object itself, several travel as
 * `{"ticks":[...]}`. The header `x-published-at` says when it was published (epoch ms).
 */

/** Header carrying when the ticks were published (epoch ms), for tick-to-push latency. */
export const PUBLISHED_AT_HEADER = 'x-published-at';

// The public API's symbol rule (@lizards/contract) is the bus tick's too.
export { SYMBOL_PATTERN };
/** Source ids (`simulated`, `stooq`...): the publisher's own vocabulary, stored as given. */
export const SOURCE_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';
/** Highest price per share taken: far above any listed share, so a larger one is a parse error (a market cap). */
export const PRICE_MAX = 1e9;
/** Highest volume taken: an exact integer in JSON (below 2^53) and in the store's bigint. */
export const VOLUME_MAX = 1e15;
/** TypeBox format of tick timestamps: ISO-8601 date-time with a zone, e.g. 2024-09-14T12:34:56.789Z. */
export const TIMESTAMP_FORMAT = 'lizards-iso-date-time';

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** ISO-8601 date-time with a zone whose calendar date exists (Date.parse would roll 02-30 into March). */
export function isIsoDateTime(value: string): boolean {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return false;
  const day = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0 to 99 as 1900 to 1999.
  day.setUTCFullYear(+m[1]!, +m[2]! - 1, +m[3]!);
  return day.getUTCMonth() === +m[2]! - 1 && day.getUTCDate() === +m[3]! && !Number.isNaN(Date.parse(value));
}

// A format name of our own, so no other user of TypeBox's global registry changes what it means.
FormatRegistry.Set(TIMESTAMP_FORMAT, isIsoDateTime);

/** The fields of a tick and their limits; TypeBox keeps NaN and ±Infinity out of every number. */
export const PRICE_TICK_FIELDS = {
  symbol: Type.String({ pattern: SYMBOL_PATTERN }),
  price: Type.Number({ exclusiveMinimum: 0, maximum: PRICE_MAX }),
  timestamp: Type.String({ format: TIMESTAMP_FORMAT }),
  source: Type.String({ pattern: SOURCE_PATTERN }),
  volume: Type.Optional(Type.Integer({ minimum: 0, maximum: VOLUME_MAX })),
};

/** One tick in a `prices` message; fields it does not know are ignored, so a publisher can add one first. */
export const PriceTick = Type.Object(PRICE_TICK_FIELDS);
export type PriceTick = Static<typeof PriceTick>;

/** Several ticks of one source and symbol in one `prices` message. */
export const PriceTickBatch = Type.Object({ ticks: Type.Array(PriceTick, { minItems: 1 }) });
export type PriceTickBatch = Static<typeof PriceTickBatch>;

const tickChecker = TypeCompiler.Compile(PriceTick);
const batchChecker = TypeCompiler.Compile(PriceTickBatch);

/** The body of a `prices` message holding `ticks` (at least one): the lone tick, or the batch form. */
export function pricesMessageBody(ticks: readonly PriceTick[]): Buffer {
  return Buffer.from(JSON.stringify(ticks.length === 1 ? ticks[0] : { ticks }));
}

export type ReadPricesMessage = { ok: true; ticks: PriceTick[] } | { ok: false; reason: string };

/**
 * Decodes the body of a `prices` message, or says why it can never be stored. A batch is all or nothing: one bad
 * tick makes the whole message unreadable.
 */
export function readPricesMessage(body: Buffer): ReadPricesMessage {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
  }
  const batch = typeof value === 'object' && value !== null && 'ticks' in value;
  const checker = batch ? batchChecker : tickChecker;
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    return { ok: false, reason: `invalid tick: ${first ? `${first.path || '/'} ${first.message}` : 'unknown'}` };
  }
  return { ok: true, ticks: batch ? (value as PriceTickBatch).ticks : [value as PriceTick] };
}
