// A load generator for ws-fanout, run as a child process (fork): opens WebSocket (or Socket.IO) clients, subscribes
// them, and measures every price_update they receive (tick-to-client latency from the tick's timestamp).
import { io } from 'socket.io-client';
import WebSocket from 'ws';

/** 'ws': the contract's JSON messages on a plain WebSocket; 'socket.io': the same messages as Socket.IO events. */
export type ClientProtocol = 'ws' | 'socket.io';

export type ClientCommand =
  /**
   * `awaitSnapshot`: a client counts as open once its snapshot has arrived, not at the subscription ack — the
   * subscription is complete then, and a tick committed before the snapshot is read is covered by the snapshot
   * (the latest price), not pushed on its own.
   */
  | {
      type: 'open';
      url: string;
      protocol: ClientProtocol;
      clients: number;
      symbols: string[];
      liveAfter: number;
      awaitSnapshot: boolean;
    }
  | { type: 'collect' }
  /**
   * Zeroes the delivery counters (ticks, messages, histogram, span; failures stay counted) and counts only ticks
   * stamped at or after `countFrom`.
   */
  | { type: 'reset'; countFrom: number }
  | { type: 'close' };

export interface ClientStats {
  clients: number;
  open: number;
  closedEarly: number;
  errors: number;
  messages: number;
  ticks: number;
  /** Ticks received per client: min and max over the clients. */
  minTicks: number;
  maxTicks: number;
  /** A tick not newer than the client's previous tick of that symbol (repeat or reorder). */
  outOfOrder: number;
  errorMessages: number;
  /** Latency histogram in whole milliseconds: index = ms. */
  histogram: number[];
  firstAt: number;
  lastAt: number;
  /** CPU time this load generator has used (user + system), in ms: what it took from the server on a shared machine. */
  cpuMs: number;
}

interface PriceUpdate {
  type: string;
  snapshot?: boolean;
  data?: Record<string, { timestamp: string }>;
}

interface Client {
  ticks: number;
  last: Map<string, number>;
  isOpen: () => boolean;
  close: () => void;
  onSnapshot?: () => void;
}

const HIST_MS = 60_000;
let histogram = new Array<number>(HIST_MS + 1).fill(0);
const clients: Client[] = [];
const stats = {
  closedEarly: 0,
  errors: 0,
  messages: 0,
  ticks: 0,
  outOfOrder: 0,
  errorMessages: 0,
  firstAt: 0,
  lastAt: 0,
};
let closing = false;
// A snapshot carrying a tick published during the run is a delivery too (the hub sends a tick committed while a
// subscription's snapshot is read as part of that snapshot); older snapshot entries are not counted.
let liveAfter = Infinity;
// Ticks stamped before the current step began are not counted in it (a late one belongs to the step before).
let countFrom = 0;

// The clients of a process all receive the same few timestamps: each is parsed once (the load generator shares
// the machine with the server, so what it saves goes to the server).
const parsedAt = new Map<string, number>();
function timeOf(timestamp: string): number {
  let at = parsedAt.get(timestamp);
  if (at === undefined) {
    if (parsedAt.size >= 100_000) parsedAt.clear();
    parsedAt.set(timestamp, (at = Date.parse(timestamp)));
  }
  return at;
}

function onUpdate(client: Client, msg: PriceUpdate): void {
  const now = Date.now();
  if (msg.type === 'error') stats.errorMessages++;
  if (msg.type !== 'price_update' || !msg.data) return;
  stats.messages++;
  if (msg.snapshot) client.onSnapshot?.();
  let counted = 0;
  for (const symbol in msg.data) {
    const at = timeOf(msg.data[symbol]!.timestamp);
    if (msg.snapshot && at < liveAfter) continue;
    if (at <= (client.last.get(symbol) ?? 0)) stats.outOfOrder++;
    client.last.set(symbol, at);
    if (at < countFrom) continue;
    client.ticks++;
    counted++;
    histogram[Math.min(HIST_MS, Math.max(0, now - at))]!++;
  }
  if (counted === 0) return;
  // The delivery span runs from the first to the last tick of the run (not from a subscription's snapshot).
  stats.ticks += counted;
  if (stats.firstAt === 0) stats.firstAt = now;
  stats.lastAt = now;
}

/** A socket's error and early close, whichever the protocol: counted, and failing its open while that is pending. */
function failures(reject: (err: Error) => void): { error: (err: Error) => void; close: () => void } {
  return {
    error: (err) => {
      stats.errors++;
      reject(err);
    },
    close: () => {
      if (!closing) stats.closedEarly++;
      reject(new Error('socket closed before the subscription was complete'));
    },
  };
}

function openWs(url: string, symbols: string[], awaitSnapshot: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client: Client = {
      ticks: 0,
      last: new Map(),
      isOpen: () => ws.readyState === WebSocket.OPEN,
      close: () => ws.terminate(),
    };
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', symbols })));
    const onAck = (raw: WebSocket.RawData) => {
      const msg = JSON.parse(raw.toString()) as { type: string; symbols?: string[] };
      if (msg.type !== 'subscribed') return;
      ws.off('message', onAck);
      if (msg.symbols?.length !== symbols.length) return reject(new Error(`subscribe refused: ${raw.toString()}`));
      ws.on('message', (data) => onUpdate(client, JSON.parse(data.toString()) as PriceUpdate));
      clients.push(client);
      if (!awaitSnapshot) return resolve();
      client.onSnapshot = () => {
        client.onSnapshot = undefined;
        resolve();
      };
    };
    ws.on('message', onAck);
    const fail = failures(reject);
    ws.once('error', fail.error);
    ws.once('close', fail.close);
  });
}

function openSocketIo(url: string, symbols: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // WebSocket transport only (no long-polling start), one connection per client, as a browser tab would have.
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    const client: Client = {
      ticks: 0,
      last: new Map(),
      isOpen: () => socket.connected,
      close: () => socket.disconnect(),
    };
    socket.once('connect', () => {
      socket.emit('subscribe', symbols, (ack: { symbols?: string[] }) => {
        if (ack.symbols?.length !== symbols.length)
          return reject(new Error(`subscribe refused: ${JSON.stringify(ack)}`));
        socket.on('price_update', (msg: PriceUpdate) => onUpdate(client, msg));
        clients.push(client);
        resolve();
      });
    });
    const fail = failures(reject);
    socket.once('connect_error', fail.error);
    socket.once('disconnect', fail.close);
  });
}

async function open(cmd: Extract<ClientCommand, { type: 'open' }>): Promise<void> {
  const batch = 100;
  const one = () =>
    cmd.protocol === 'socket.io' ? openSocketIo(cmd.url, cmd.symbols) : openWs(cmd.url, cmd.symbols, cmd.awaitSnapshot);
  for (let i = 0; i < cmd.clients; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, cmd.clients - i) }, one));
  }
}

function collect(): ClientStats {
  let last = histogram.length - 1;
  while (last > 0 && histogram[last] === 0) last--;
  const perClient = clients.map((c) => c.ticks);
  return {
    clients: clients.length,
    open: clients.filter((c) => c.isOpen()).length,
    ...stats,
    minTicks: perClient.length ? Math.min(...perClient) : 0,
    maxTicks: perClient.length ? Math.max(...perClient) : 0,
    histogram: histogram.slice(0, last + 1),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  };
}

// The bench went away without closing the fleet (killed): so do its clients.
process.once('disconnect', () => process.exit(0));
process.on('message', (cmd: ClientCommand) => {
  const reply = (m: unknown) => {
    if (process.connected) process.send?.(m);
  };
  if (cmd.type === 'open') {
    liveAfter = cmd.liveAfter;
    open(cmd).then(
      () => reply({ type: 'opened', clients: clients.length }),
      (err: unknown) => reply({ type: 'failed', message: String(err) }),
    );
  } else if (cmd.type === 'collect') {
    reply({ type: 'stats', stats: collect() });
  } else if (cmd.type === 'reset') {
    countFrom = cmd.countFrom;
    Object.assign(stats, { messages: 0, ticks: 0, firstAt: 0, lastAt: 0 });
    histogram = new Array<number>(HIST_MS + 1).fill(0);
    for (const c of clients) c.ticks = 0;
    reply({ type: 'reset' });
  } else {
    closing = true;
    for (const c of clients) c.close();
    process.exit(0);
  }
});
