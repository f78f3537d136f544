import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { PriceRepository } from '../store/price-repository.js';
import type { NewTick } from '../ticks/tick-schema.js';
import { ClientConnection, type ClientLimits } from './client-connection.js';
import { ClientProtocol } from './client-protocol.js';
import { FanOutLog } from './fan-out-log.js';
import type { HubMetrics } from './hub-metrics.js';
import {
  ProvisionalTicks,
  type CommittedTick,
  type ProvisionalTick,
  type ProvisionalTicksOptions,
} from './provisional-ticks.js';
import { RawFrameWriter, type FrameStream } from './raw-frame-writer.js';
import { StoredCheck } from './stored-check.js';
import { SubscriptionIndex } from './subscription-index.js';
import { SymbolActivity } from './symbol-activity.js';
import { UpdateEncoder } from './update-encoder.js';

/** Longest wait for the store to say which due provisional ticks it has already (StoredCheck). */
const STORED_CHECK_MAX_MS = 250;

export interface HubOptions extends ClientLimits {
  repository: PriceRepository;
  metrics: HubMetrics;
  log: FastifyBaseLogger;
  /** The seq up to which the live stream has been dispatched. */
  liveCursor: () => string;
  maxSymbols: number;
  /** Price alerts one connection may hold. */
  maxAlerts: number;
  maxMessageBytes: number;
  pingIntervalMs: number;
  resumeMaxTicks: number;
  staleAfterMs: number;
  /**
   * Most store reads for clients (subscribe, snapshot, resume) at once: a lane of the read pool, so REST keeps
   * the rest.
   */
  maxConcurrentReads: number;
  /** Pushing ticks seen on the bus that are not stored in time, marked provisional; off when absent. */
  provisional?: Omit<ProvisionalTicksOptions, 'now'>;
  now?: () => number;
}

/**
 * The WebSocket hub: it ties connections to the client protocol, the subscription index, the fan-out of
 * the live stream, provisional prices, heartbeats and stale notices.
 */
export class Hub {
  private readonly clients = new Set<ClientConnection>();
  private readonly subscriptions = new SubscriptionIndex<ClientConnection>();
  private readonly activity: SymbolActivity;
  private readonly protocol: ClientProtocol;
  private readonly fanOut: FanOutLog<ClientConnection>;
  private pingTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly provisional: ProvisionalTicks | undefined;
  private provisionalTimer: NodeJS.Timeout | undefined;
  /** A provisional round is waiting for the fan-out to hand out the stored ticks before it. */
  private provisionalWaiting = false;
  private readonly storedCheck: StoredCheck;
  /** Why frames could not go past ws, each logged once. */
  private readonly rawFramesOff = new Set<string>();

  constructor(private readonly opts: HubOptions) {
    this.now = opts.now ?? Date.now;
    this.provisional = opts.provisional && new ProvisionalTicks({ ...opts.provisional, now: this.now });
    this.storedCheck = new StoredCheck({
      repository: opts.repository,
      timeoutMs: Math.min(STORED_CHECK_MAX_MS, opts.provisional?.maxLagMs ?? 0),
      log: opts.log,
    });
    this.activity = new SymbolActivity(opts.staleAfterMs, this.now);
    this.protocol = new ClientProtocol({
      ...opts,
      subscriptions: this.subscriptions,
      activity: this.activity,
      provisionalRound: () => this.provisional?.round ?? 0,
    });
    this.fanOut = new FanOutLog({
      subscriptions: this.subscriptions,
      encoder: () => new UpdateEncoder(opts.metrics, false, this.now),
      onError: (err) => opts.log.error({ err }, 'live fan-out failed'),
    });
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  /** Largest number of bytes waiting in any client's socket. */
  get maxBufferedAmount(): number {
    let max = 0;
    for (const c of this.clients) max = Math.max(max, c.bufferedAmount);
    return max;
  }

  start(): void {
    this.pingTimer = setInterval(() => this.heartbeat(), this.opts.pingIntervalMs);
    this.staleTimer = setInterval(() => this.checkStale(), Math.max(250, Math.min(5000, this.opts.staleAfterMs / 4)));
  }

  /** Sends every client a reconnect hint and closes it (graceful shutdown). */
  shutdown(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.staleTimer);
    clearTimeout(this.provisionalTimer);
    for (const c of this.clients) {
      c.sendJson({ type: 'reconnect', reason: 'shutdown' });
      c.close(1001, 'server shutting down');
    }
  }

  /** `stream` is the connection under the WebSocket, for writing ready-made frames. */
  attach(socket: WebSocket, stream: FrameStream): ClientConnection {
    const id = randomUUID();
    const frames = this.rawFrames(socket, stream);
    const client = new ClientConnection(socket, id, this.opts, this.opts.metrics, this.now, frames);
    this.clients.add(client);
    this.opts.metrics.connections.inc();
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      client.handleInOrder(() =>
        this.protocol.handle(client, raw, isBinary).catch((err: unknown) => {
          // A client gone while its read waited in the lane needs no answer.
          if (!client.isOpen) return;
          this.opts.log.error({ err, client: id }, 'websocket message failed');
          client.sendError('Internal error; please retry');
        }),
      );
    });
    socket.on('error', (err) => this.opts.log.debug({ err, client: id }, 'websocket error'));
    socket.on('close', () => this.detach(client));
    return client;
  }

  /** Live ticks, in seq order, each exactly once: handed to their subscribers by the fan-out log. */
  dispatch(ticks: CommittedTick[]): void {
    this.provisional?.settle(ticks);
    this.protocol.alerts.check(ticks);
    this.activity.seen(ticks);
    this.fanOut.append(ticks);
  }

  /**
   * Ticks seen on the bus, not stored yet. Those not seen stored within the bound (PostgreSQL down or
   * behind) are pushed marked provisional; their stored versions then only confirm them.
   */
  preview(ticks: NewTick[]): void {
    if (!this.provisional) return;
    this.provisional.seen(ticks);
    this.scheduleProvisional();
  }

  /** Frames go past ws where its internals allow; otherwise through ws, each reason logged once. */
  private rawFrames(socket: WebSocket, stream: FrameStream): RawFrameWriter | undefined {
    const writer = RawFrameWriter.over(socket, stream);
    if (typeof writer !== 'string') return writer;
    if (!this.rawFramesOff.has(writer)) {
      this.rawFramesOff.add(writer);
      this.opts.log.warn({ reason: writer }, 'updates go through ws, one send per message');
    }
    return undefined;
  }

  private scheduleProvisional(): void {
    if (this.provisionalTimer || this.provisionalWaiting) return;
    const delay = this.provisional?.nextDueIn();
    if (delay === undefined) return;
    this.provisionalTimer = setTimeout(() => {
      this.provisionalTimer = undefined;
      this.provisionalWaiting = true;
      this.provisionalRound()
        .catch((err: unknown) => this.opts.log.error({ err }, 'provisional round failed'))
        .finally(() => {
          this.provisionalWaiting = false;
          this.scheduleProvisional();
        });
    }, delay);
    this.provisionalTimer.unref();
  }

  private async provisionalRound(): Promise<void> {
    const provisional = this.provisional!;
    const dueBefore = provisional.dueBefore();
    provisional.storedAlready(await this.storedCheck.storedKeys(provisional.due(dueBefore)));
    await this.fanOut.idle();
    // Taken only now: a tick stored meanwhile is not due, and the stored ticks handed to the fan-out before the
    // round reached every client first (a round pushed beside a pass overtook older stored ticks).
    const due = provisional.takeDue(dueBefore);
    if (due) this.pushProvisional(due);
  }

  private pushProvisional(ticks: ProvisionalTick[]): void {
    this.activity.seen(ticks);
    const clients = new Set<ClientConnection>();
    for (const t of ticks) for (const c of this.subscriptions.subscribers(t.symbol)) clients.add(c);
    const encoder = new UpdateEncoder(this.opts.metrics, false, this.now);
    for (const c of clients) c.pushProvisional(ticks, encoder);
    encoder.flush();
    this.opts.metrics.provisionalTicks.inc(ticks.length);
  }

  private detach(client: ClientConnection): void {
    if (!this.clients.delete(client)) return;
    this.protocol.alerts.drop(client);
    client.dispose();
    this.opts.metrics.connections.dec();
    this.opts.metrics.subscriptions.dec(this.subscriptions.clear(client));
  }

  private heartbeat(): void {
    for (const c of this.clients) if (!c.heartbeat()) this.detach(c);
  }

  private checkStale(): void {
    for (const [symbol, since] of this.activity.newlyStale(this.subscriptions.symbols)) {
      const message = { type: 'stale' as const, symbol, since: since.toISOString() };
      for (const c of this.subscriptions.subscribers(symbol)) c.sendJson(message);
    }
  }
}
