import { PUBLISHED_AT_HEADER, readPricesMessage } from '@lizards/lib';
import type { NewTick } from '../ticks/tick-schema.js';

export type ParsedTickMessage = { ok: true; ticks: NewTick[] } | { ok: false; reason: string };

function publishedAtOf(headers: Record<string, unknown>): Date | null {
  const ms = Number(headers[PUBLISHED_AT_HEADER]);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}

/**
 * Decodes one `prices` message (lib's prices contract) into ticks to store, or says why it can never be stored.
 * A batch is all or nothing: one bad tick sends the whole message to the dead-letter queue.
 */
export function parseTickMessage(body: Buffer, headers: Record<string, unknown>): ParsedTickMessage {
  const read = readPricesMessage(body);
  if (!read.ok) return read;
  const publishedAt = publishedAtOf(headers);
  return {
    ok: true,
    ticks: read.ticks.map((t) => ({
      symbol: t.symbol,
      price: t.price,
      timestamp: new Date(t.timestamp),
      source: t.source,
      volume: t.volume ?? null,
      publishedAt,
    })),
  };
}
