import type { BusMessage } from '@lizards/lib';

interface WireTick {
  symbol: string;
  timestamp: string;
  source: string;
}

/**
 * The ids (`source:symbol:timestamp`) of the ticks a `prices` message carries: one tick, or several of one source and
 * symbol as `{"ticks":[...]}`. Throws when the routing key or messageId does not match the body.
 */
export function tickIdsOf(message: BusMessage): string[] {
  const body = JSON.parse(message.body.toString()) as WireTick | { ticks: WireTick[] };
  const ticks = 'ticks' in body ? body.ticks : [body];
  const ids = ticks.map((t) => `${t.source}:${t.symbol}:${t.timestamp}`);
  const expectedId = ticks.length === 1 ? ids[0] : `${ids[0]}+${ticks.length}`;
  if (message.messageId !== expectedId)
    throw new Error(`messageId ${String(message.messageId)} does not match the body (${expectedId})`);
  if (ticks.some((t) => t.symbol !== message.routingKey || t.source !== ticks[0]!.source)) {
    throw new Error(`message ${expectedId} mixes symbols or sources, or its routing key ${message.routingKey} differs`);
  }
  return ids;
}
