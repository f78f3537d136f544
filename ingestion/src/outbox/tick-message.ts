import { PUBLISHED_AT_HEADER, pricesMessageBody, type OutgoingMessage, type PriceTick } from '@lizards/lib';
import type { Tick } from '../ticks/tick.js';

function wireTick(tick: Tick): PriceTick {
  return {
    symbol: tick.symbol,
    price: tick.price,
    timestamp: tick.timestamp,
    source: tick.source,
    ...(tick.volume !== undefined ? { volume: tick.volume } : {}),
  };
}

/**
 * Ticks as `prices` messages (lib's prices contract), one message per source and symbol (routing key = symbol):
 * a lone tick is the tick object itself (messageId `source:symbol:timestamp`); several ticks of one source
 * and symbol travel together as `{"ticks":[...]}` (messageId `source:symbol:<first timestamp>+<count>`), so the
 * broker persists, routes and confirms one message per symbol of a batch instead of one per tick. Mandatory: a
 * message no queue takes is returned, not confirmed as if stored.
 */
export function tickMessages(exchange: string, ticks: readonly Tick[], publishedAt: number): OutgoingMessage[] {
  const groups = new Map<string, Tick[]>();
  for (const t of ticks) {
    const key = `${t.source}:${t.symbol}`;
    const group = groups.get(key);
    if (group) group.push(t);
    else groups.set(key, [t]);
  }
  const messages: OutgoingMessage[] = [];
  for (const [key, group] of groups) {
    const first = group[0]!;
    const single = group.length === 1;
    messages.push({
      exchange,
      routingKey: first.symbol,
      body: pricesMessageBody(group.map(wireTick)),
      options: {
        messageId: single ? `${key}:${first.timestamp}` : `${key}:${first.timestamp}+${group.length}`,
        contentType: 'application/json',
        mandatory: true,
        headers: { [PUBLISHED_AT_HEADER]: publishedAt },
      },
    });
  }
  return messages;
}
