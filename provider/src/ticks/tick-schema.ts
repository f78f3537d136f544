import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const SYMBOL_PATTERN = '^[A-Z][A-Z0-9.\\-]{0,9}$';
const ISO_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]00:?00)$';

/** A tick as ingestion publishes it on the `prices` exchange (wire.md). */
export const BusTick = Type.Object({
  symbol: Type.String({ pattern: SYMBOL_PATTERN }),
  price: Type.Number({ exclusiveMinimum: 0, maximum: 1e12 }),
  timestamp: Type.String({ pattern: ISO_UTC }),
  source: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }),
  volume: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e15 })),
});
export type BusTick = Static<typeof BusTick>;
export const busTickChecker = TypeCompiler.Compile(BusTick);

/** `a > b` for seqs written as canonical decimals (no leading zeros), without parsing them. */
export function seqAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** A tick as the store holds it; `seq` is the commit-ordered position, a bigint as a string. */
export interface StoredTick {
  symbol: string;
  price: number;
  timestamp: Date;
  source: string;
  volume: number | null;
  seq: string;
  publishedAt: Date | null;
}

/** A tick ready to be written. */
export interface NewTick {
  symbol: string;
  price: number;
  timestamp: Date;
  source: string;
  volume: number | null;
  publishedAt: Date | null;
}

/** One entry of a `prices.live` message (wire.md). */
export interface LiveTick {
  symbol: string;
  price: number;
  timestamp: string;
  source: string;
  volume?: number;
  seq: string;
  published_at?: number;
}

export function toLiveTick(t: StoredTick): LiveTick {
  return {
    symbol: t.symbol,
    price: t.price,
    timestamp: t.timestamp.toISOString(),
    source: t.source,
    ...(t.volume !== null ? { volume: t.volume } : {}),
    seq: t.seq,
    ...(t.publishedAt ? { published_at: t.publishedAt.getTime() } : {}),
  };
}

export const LiveMessage = Type.Object({
  ticks: Type.Array(Type.Object({ seq: Type.String({ pattern: '^\\d{1,19}$' }) }, { additionalProperties: true })),
});
export const liveMessageChecker = TypeCompiler.Compile(LiveMessage);
