import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { liveMessageChecker, SYMBOL_PATTERN, type StoredTick } from '../ticks/tick-schema.js';

/**
 * A `prices.live` message as the live feed uses it: every field of each committed tick (the live entry
 * of provider/src/ticks/tick-schema.ts), so the ticks can be pushed without reading them back. A message that does not
 * carry them whole is only a hint to read the store.
 */
const LiveTickEntry = Type.Object({
  symbol: Type.String({ pattern: SYMBOL_PATTERN }),
  price: Type.Number(),
  timestamp: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$' }),
  source: Type.String(),
  volume: Type.Optional(Type.Number()),
  // Canonical decimals only: the feed compares seqs as written.
  seq: Type.String({ pattern: '^(0|[1-9]\\d{0,18})$' }),
  published_at: Type.Optional(Type.Number()),
});

const FullLiveMessage = Type.Object({ ticks: Type.Array(LiveTickEntry, { minItems: 1 }) });
const fullLiveMessageChecker = TypeCompiler.Compile(FullLiveMessage);

/** Every `seq` in a `prices.live` body (the hint), and the ticks themselves when the body carries them whole. */
export interface DecodedLiveMessage {
  highest: bigint;
  ticks: StoredTick[] | undefined;
}

export function decodeLiveMessage(body: Buffer): DecodedLiveMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!liveMessageChecker.Check(value)) return undefined;
  const highest = value.ticks.reduce((max, t) => (BigInt(t.seq) > max ? BigInt(t.seq) : max), 0n);
  if (!fullLiveMessageChecker.Check(value)) return { highest, ticks: undefined };
  const ticks: StoredTick[] = [];
  for (const t of value.ticks) {
    const timestamp = new Date(t.timestamp);
    if (Number.isNaN(timestamp.getTime())) return { highest, ticks: undefined };
    ticks.push({
      symbol: t.symbol,
      price: t.price,
      timestamp,
      source: t.source,
      volume: t.volume ?? null,
      seq: t.seq,
      publishedAt: t.published_at === undefined ? null : new Date(t.published_at),
    });
  }
  return { highest, ticks };
}
