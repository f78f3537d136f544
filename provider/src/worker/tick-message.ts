import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BusTick, busTickChecker, type NewTick } from '../ticks/tick-schema.js';

/** Several ticks of one symbol in one `prices` message, as ingestion publishes a batch. */
const BusTickBatch = Type.Object({ ticks: Type.Array(BusTick, { minItems: 1 }) });
type BusTickBatch = Static<typeof BusTickBatch>;
const batchChecker = TypeCompiler.Compile(BusTickBatch);

export type ParsedTickMessage = { ok: true; ticks: NewTick[] } | { ok: false; reason: string };

function publishedAtOf(headers: Record<string, unknown>): Date | null {
  const ms = Number(headers['x-published-at']);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}

/**
 * Decodes one `prices` message: a lone tick (the tick object) or `{"ticks":[...]}`; or says why it can never be
 * stored. A batch is all or nothing: one bad tick sends the whole message to the dead-letter queue.
 */
export function parseTickMessage(body: Buffer, headers: Record<string, unknown>): ParsedTickMessage {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
  }
  const batch = typeof value === 'object' && value !== null && 'ticks' in value;
  const checker = batch ? batchChecker : busTickChecker;
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    return { ok: false, reason: `invalid tick: ${first ? `${first.path || '/'} ${first.message}` : 'unknown'}` };
  }
  const list: BusTick[] = batch ? (value as BusTickBatch).ticks : [value as BusTick];
  const publishedAt = publishedAtOf(headers);
  const ticks: NewTick[] = [];
  for (const [i, t] of list.entries()) {
    const timestamp = new Date(t.timestamp);
    if (Number.isNaN(timestamp.getTime())) return { ok: false, reason: `invalid tick: ${batch ? `/ticks/${i}` : ''}/timestamp is not a date` };
    ticks.push({ symbol: t.symbol, price: t.price, timestamp, source: t.source, volume: t.volume ?? null, publishedAt });
  }
  return { ok: true, ticks };
}
