import type { MessageBus, OutgoingMessage } from '@lizards/lib';

export interface TestTick {
  symbol: string;
  price: number;
  timestamp: string;
  source: string;
  volume?: number;
}

const BASE = Date.parse('2024-09-14T12:00:00.000Z');

/** `count` ticks of `symbol`, one second apart from `startIndex`. */
export function makeTicks(
  symbol: string,
  count: number,
  opts: { startIndex?: number; source?: string; base?: number } = {},
): TestTick[] {
  const start = opts.startIndex ?? 0;
  return Array.from({ length: count }, (_, i) => ({
    symbol,
    price: Math.round((100 + ((start + i) % 50) + (start + i) / 1000) * 100) / 100,
    timestamp: new Date((opts.base ?? BASE) + (start + i) * 1000).toISOString(),
    source: opts.source ?? 'simulated',
    volume: 100 + i,
  }));
}

export function tickMessage(exchange: string, t: TestTick | Record<string, unknown>): OutgoingMessage {
  const tick = t as TestTick;
  return {
    exchange,
    routingKey: String(tick.symbol ?? 'BAD'),
    body: Buffer.from(JSON.stringify(t)),
    options: {
      messageId: `${tick.source}:${tick.symbol}:${tick.timestamp}`,
      headers: { 'x-published-at': Date.now() },
    },
  };
}

/** Publishes ticks onto the prices exchange as ingestion does (lib's prices contract), in chunks, with confirms. */
export async function publishTicks(
  bus: MessageBus,
  exchange: string,
  ticks: (TestTick | Record<string, unknown>)[],
): Promise<void> {
  for (let i = 0; i < ticks.length; i += 500) {
    await bus.publishBatch(ticks.slice(i, i + 500).map((t) => tickMessage(exchange, t)));
  }
}
