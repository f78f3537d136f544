import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PRICE_TICK_FIELDS } from '@lizards/lib';
import { SOURCE_IDS, type Rejection, type RejectionReason, type SourceId, type Tick } from './tick.js';

/**
 * A candidate tick as accepted for publishing: the `prices` message's fields and limits (lib's prices contract),
 * a source of ours, and nothing else.
 */
export const TickSchema = Type.Object(
  { ...PRICE_TICK_FIELDS, source: Type.Union(SOURCE_IDS.map((s) => Type.Literal(s))) },
  { additionalProperties: false },
);
export type TickShape = Static<typeof TickSchema>;

const checker = TypeCompiler.Compile(TickSchema);

const REASON_BY_FIELD: Record<string, RejectionReason> = {
  symbol: 'invalid_symbol',
  price: 'invalid_price',
  timestamp: 'invalid_timestamp',
  source: 'unknown_source',
  volume: 'invalid_volume',
};

export interface ValidationOptions {
  /** How far in the future a timestamp may be (clock skew between us and the source). */
  maxFutureSkewMs: number;
  now?: () => number;
}

export interface ValidationResult {
  accepted: Tick[];
  rejections: Rejection[];
}

/**
 * Transforms candidate ticks (as parsed from a source) into wire ticks and validates them:
 * fills the default source, normalises the timestamp to ISO-8601 UTC with milliseconds.
 */
export function transformAndValidate(
  candidates: unknown[],
  defaultSource: SourceId,
  opts: ValidationOptions,
): ValidationResult {
  const now = (opts.now ?? Date.now)();
  const accepted: Tick[] = [];
  const rejections: Rejection[] = [];
  candidates.forEach((candidate, index) => {
    const reject = (reason: RejectionReason, message: string): void => {
      const symbol = (candidate as { symbol?: unknown } | null)?.symbol;
      rejections.push({
        index,
        reason,
        message,
        ...(typeof symbol === 'string' ? { symbol: symbol.slice(0, 32) } : {}),
      });
    };
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
      reject('invalid_shape', 'a tick must be an object');
      return;
    }
    const withSource = { source: defaultSource, ...candidate } as Record<string, unknown>;
    if (withSource.volume === undefined) delete withSource.volume;
    // Check is the compiled fast path; the error iterator only runs for a tick that fails it.
    if (!checker.Check(withSource)) {
      const error = checker.Errors(withSource).First();
      const field = error?.path.replace(/^\//, '').split('/')[0] ?? '';
      const reason = REASON_BY_FIELD[field] ?? 'invalid_shape';
      const detail =
        field === 'timestamp' && typeof error?.value === 'string'
          ? 'expected an ISO-8601 date-time with a zone, e.g. 2024-09-14T12:34:56Z'
          : (error?.message ?? 'not a tick');
      const what = field ? `${field}: ${detail}` : detail;
      reject(reason, `${what} (got ${describe(error?.value)})`);
      return;
    }
    const tick = withSource as unknown as Tick;
    const at = Date.parse(tick.timestamp);
    if (at > now + opts.maxFutureSkewMs) {
      reject('future_timestamp', `timestamp: ${tick.timestamp} is more than ${opts.maxFutureSkewMs} ms in the future`);
      return;
    }
    accepted.push({
      symbol: tick.symbol,
      price: tick.price,
      timestamp: new Date(at).toISOString(),
      source: tick.source,
      ...(tick.volume !== undefined ? { volume: tick.volume } : {}),
    });
  });
  return { accepted, rejections };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
