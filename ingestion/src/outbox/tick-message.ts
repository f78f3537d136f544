import type { OutgoingMessage } from '@lizards/lib';
import type { Tick } from '../ticks/tick.js';

/** Header carrying when ingestion published the tick (epoch ms), for tick-to-push latency. */
export const PUBLISHED_AT_HEADER = 'x-published-at';

/** A tick as a bus message on the prices exchange: routing key = symbol, messageId = source:symbol:timestamp. */
export function tickMessage(exchange: string, tick: Tick, publishedAt: number): OutgoingMessage {
  const body = {
    symbol: tick.symbol,
    price: tick.price,
    timestamp: tick.timestamp,
    source: tick.source,
    ...(tick.volume !== undefined ? { volume: tick.volume } : {}),
  };
  return {
    exchange,
    routingKey: tick.symbol,
    body: Buffer.from(JSON.stringify(body)),
    options: {
      messageId: `${tick.source}:${tick.symbol}:${tick.timestamp}`,
      contentType: 'application/json',
      headers: { [PUBLISHED_AT_HEADER]: publishedAt },
    },
  };
}
