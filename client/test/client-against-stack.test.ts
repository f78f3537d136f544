import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '@lizards/testkit';
import { LizardsClient, LizardsHttpError, type LizardsError, type PriceSubscription } from '../src/index.js';
import { SYMBOLS, Stack } from '../../faults/src/stack.js';

// The real services as processes on the real PostgreSQL and RabbitMQ (the fault suite's stack), two providers, the
// client going through the gateway as any user's code would.

/** Tokens open sockets for 2-3 s here: a reconnect that reused its first session would be refused. */
const SESSION_TTL_S = 2;

/** Node.js 20 has no global WebSocket: `ws`, sending the gateway's origin as a page of the dashboard would. */
function gatewayWebSocket(gatewayUrl: string) {
  const origin = new URL(gatewayUrl).origin;
  return class GatewayWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { origin });
    }
  };
}

/** What one subscription received: stored ticks (as prices or as confirmations of provisional ones) in order. */
interface Watcher {
  sub: PriceSubscription;
  /** `symbol|ISO timestamp` of each stored grpc tick received, in arrival order. */
  arrivals: string[];
  /** The cursor of the message each arrival came in. */
  cursors: string[];
  errors: LizardsError[];
  subscribed: Promise<unknown>;
}

const keyOf = (symbol: string, timestamp: string) => `${symbol}|${new Date(timestamp).toISOString()}`;

function watch(client: LizardsClient, symbols: string[]): Watcher {
  const sub = client.live(symbols);
  const w: Watcher = {
    sub,
    arrivals: [],
    cursors: [],
    errors: [],
    subscribed: new Promise((resolve) => sub.once('subscribed', resolve)),
  };
  sub.on('price', (p) => {
    if (p.source !== 'grpc') return;
    w.arrivals.push(keyOf(p.symbol, p.timestamp));
    w.cursors.push(p.cursor);
  });
  sub.on('stored', (n) => {
    for (const t of n.ticks) {
      if (t.source !== 'grpc') continue;
      w.arrivals.push(keyOf(t.symbol, t.timestamp));
      w.cursors.push(n.cursor);
    }
  });
  sub.on('error', (err) => w.errors.push(err));
  return w;
}

describe('@lizards/client against the real stack', () => {
  let stack: Stack;
  let client: LizardsClient;
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    stack = await Stack.start({
      providers: 2,
      heartbeatMs: 500,
      leaseTtlMs: 2000,
      logLevel: 'warn',
      providerEnv: { SESSION_TTL_S: String(SESSION_TTL_S) },
    });
    client = new LizardsClient({ baseUrl: stack.gateway.url, WebSocket: gatewayWebSocket(stack.gateway.url) });
  }, 90_000);

  afterAll(async () => {
    for (const w of watchers) w.sub.close();
    await stack?.close();
  }, 30_000);

  /** seq of every stored grpc tick, by key. */
  async function storedSeqs(): Promise<Map<string, bigint>> {
    const rows = await stack.sql<{ symbol: string; timestamp: Date; seq: string }[]>`
      SELECT symbol, "timestamp", seq::text AS seq FROM ${stack.sql(stack.schema)}.ticks WHERE source = 'grpc'`;
    return new Map(rows.map((r) => [`${r.symbol}|${r.timestamp.toISOString()}`, BigInt(r.seq)]));
  }

  describe('live subscription', () => {
    it('when the provider holding its socket is killed mid-stream, then it reconnects with a new session and ' +
      'every stored tick of its symbols arrives exactly once, in cursor order', async () => {
      const connectedAt = Date.now();
      // Subscriptions on both providers (POST /session takes a round-robin turn too: an extra request shifts the
      // rotation).
      for (let i = 0; i < 8; i++) {
        const w = watch(client, i % 2 === 0 ? SYMBOLS : SYMBOLS.slice(0, 3));
        watchers.push(w);
        await w.subscribed;
        const counts = await Promise.all(stack.providers.map((p) => p.metric('provider_ws_connections')));
        if (watchers.length >= 3 && counts.every((n) => n > 0)) break;
        await client.latest(SYMBOLS[i % SYMBOLS.length]!);
      }
      expect(await stack.providers[0]!.metric('provider_ws_connections')).toBeGreaterThan(0);

      stack.feeder.start(10, 40);
      await stack.feeder.acceptedAtLeast(300, 'load to flow');
      // Every first token has expired by now: only a fresh session gets a reconnect in.
      const expiry = connectedAt + (SESSION_TTL_S + 1) * 1000 + 200 - Date.now();
      if (expiry > 0) await new Promise((resolve) => setTimeout(resolve, expiry));
      await stack.providers[0]!.kill('SIGKILL');
      await stack.feeder.acceptedAtLeast(stack.feeder.accepted.size + 400, 'load after the kill', 60_000);
      await stack.feeder.stop();

      const stored = await stack.waitUntilStored();
      expect(new Set(stored)).toEqual(stack.feeder.accepted);
      const seqs = await storedSeqs();
      expect(watchers.some((w) => w.sub.reconnects > 0)).toBe(true);
      for (const w of watchers) {
        const expected = [...stack.liveKeys(stored)].filter((k) => w.sub.symbols.includes(k.split('|')[0]!));
        await waitFor(
          () => w.arrivals.length >= expected.length,
          30_000,
          `${expected.length} ticks at a subscription`,
          100,
        ).catch(() => undefined);
        expect(w.arrivals.length).toBe(new Set(w.arrivals).size);
        expect(new Set(w.arrivals)).toEqual(new Set(expected));
        // Commit order: the ticks' seqs rise, and each arrived in a message whose cursor covers it.
        const order = w.arrivals.map((k) => seqs.get(k)!);
        expect(order.every((seq, i) => i === 0 || seq > order[i - 1]!)).toBe(true);
        expect(w.arrivals.every((k, i) => BigInt(w.cursors[i]!) >= seqs.get(k)!)).toBe(true);
        expect(w.sub.state).toBe('open');
        // Only the retries of the reconnect may have failed (a socket routed to the dying instance), never a message.
        expect(w.errors.filter((e) => e.code !== 'LZ_ERR_CLIENT_SOCKET' && e.code !== 'LZ_ERR_CLIENT_SESSION')).toEqual(
          [],
        );
      }
    }, 150_000);
  });

  describe('REST', () => {
    it('when symbols and the latest price are asked for, then they are the stored ones', async () => {
      expect(await client.symbols()).toEqual(expect.arrayContaining(SYMBOLS));
      const latest = await client.latest('AAPL');
      const [row] = await stack.sql<{ timestamp: Date; seq: string }[]>`
        SELECT "timestamp", seq::text AS seq FROM ${stack.sql(stack.schema)}.ticks
         WHERE symbol = 'AAPL' ORDER BY "timestamp" DESC, seq DESC LIMIT 1`;
      expect({ symbol: latest.symbol, timestamp: new Date(latest.timestamp).toISOString(), seq: latest.seq }).toEqual({
        symbol: 'AAPL',
        timestamp: row!.timestamp.toISOString(),
        seq: row!.seq,
      });
    });

    it(
      'when the history of a range is read page by page, then it is every stored tick of the range oldest ' +
        'first (or the one page a server without next gives)',
      async () => {
        const rows = await stack.sql<{ timestamp: Date; seq: string }[]>`
        SELECT "timestamp", seq::text AS seq FROM ${stack.sql(stack.schema)}.ticks
         WHERE symbol = 'MSFT' ORDER BY "timestamp", seq`;
        expect(rows.length).toBeGreaterThan(100);
        const from = rows[0]!.timestamp;
        const to = new Date(rows.at(-1)!.timestamp.getTime() + 1);
        const pages = [];
        for await (const page of client.historyPages('MSFT', { from, to, limit: 40 })) pages.push(page);
        const got = pages.flatMap((p) => p.prices.map((t) => t.seq));
        // A paging server gives all of it in pages of at most 40; one that does not page, its first 40.
        const paged = pages.length > 1 || pages[0]!.next !== undefined;
        expect(got).toEqual(rows.slice(0, paged ? rows.length : 40).map((r) => r.seq));
        expect(pages.every((p) => p.prices.length <= 40)).toBe(true);
      },
    );

    it('when candles of a range are asked for, then they count every tick of the range', async () => {
      const [range] = await stack.sql<{ from: Date; to: Date; count: string }[]>`
        SELECT min("timestamp") AS from, max("timestamp") AS to, count(*)::text AS count
          FROM ${stack.sql(stack.schema)}.ticks WHERE symbol = 'TSLA'`;
      const from = new Date(Math.floor(range!.from.getTime() / 60_000) * 60_000);
      const reply = await client.candles('TSLA', { interval: '1m', from, to: new Date(range!.to.getTime() + 1) });
      expect(reply.interval).toBe('1m');
      expect(reply.candles.reduce((n, c) => n + c.ticks, 0)).toBe(Number(range!.count));
      for (const c of reply.candles) expect(c.low).toBeLessThanOrEqual(Math.min(c.open, c.close));
    });

    it("when a symbol is unknown, then the call fails with the status and the server's message", async () => {
      for (const call of [() => client.latest('ZZZZ'), () => client.history('ZZZZ'), () => client.candles('ZZZZ')]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LizardsHttpError);
        expect(err).toMatchObject({ status: 404, message: expect.stringContaining('Unknown stock symbol: ZZZZ') });
      }
    });
  });
});
