import type { FastifyBaseLogger } from 'fastify';
import { storeTopology, withDeadline, type MessageBus, type StoreTopologyOptions, type Topology } from '@lizards/lib';
import type { IngestionMetrics } from '../ingestion-metrics.js';
import type { RawDocument, RawStore } from '../raw-store/raw-store.js';
import type { Tick } from '../ticks/tick.js';
import { tickMessages } from './tick-message.js';

export interface OutboxPublisherOptions {
  bus: MessageBus;
  store: RawStore;
  /** The prices exchange and the store queue: declared here too, so ticks have a queue before any provider ran. */
  topology: StoreTopologyOptions;
  /** Most ticks in one publishBatch. */
  batchSize: number;
  /** How often a non-empty outbox is retried while the bus stays connected (e.g. after a failed confirm). */
  retryMs: number;
  /** How long a fresh document's caller waits for the confirm before leaving the document to the outbox. */
  publishTimeoutMs: number;
  metrics: IngestionMetrics;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'debug'>;
}

/** Documents read from the outbox per round of a drain: what is held in memory at once. */
const DRAIN_PAGE = 100;

/**
 * Publishes the ticks of stored documents and marks a document published only after the broker confirmed
 * all of them into a queue (publishes are mandatory: a tick no queue took is not published). What cannot be
 * published now (broker down, store queue missing) stays in the raw store and is republished on start, when the
 * bus reconnects, and on a retry timer.
 */
export class OutboxPublisher {
  private readonly topology: Topology;
  private readonly inFlight = new Set<string>();
  private draining: Promise<void> | undefined;
  private drainRequested = false;
  private timer: NodeJS.Timeout | undefined;
  private offStateChange: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly opts: OutboxPublisherOptions) {
    this.topology = storeTopology(opts.topology);
  }

  async start(): Promise<void> {
    await this.opts.bus.declare(this.topology);
    this.offStateChange = this.opts.bus.onStateChange((state) => {
      if (state === 'connected') {
        this.opts.log.info('bus connected: draining the outbox');
        void this.drain();
      }
    });
    this.timer = setInterval(() => void this.retry(), this.opts.retryMs);
    this.timer.unref();
    void this.drain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.offStateChange?.();
    await this.draining;
  }

  /**
   * Publishes one freshly stored document; false when it was left in the outbox for later. A broker that takes
   * longer than `publishTimeoutMs` to confirm does not hold the caller (a poll, a gRPC call): the attempt goes on
   * in the background and the document stays claimed until it settles.
   */
  async publish(document: Pick<RawDocument, 'id' | 'ticks'>): Promise<boolean> {
    if (this.stopped || this.opts.bus.state !== 'connected' || this.inFlight.has(document.id)) return false;
    this.inFlight.add(document.id);
    const attempt = (async () => {
      await this.send(document.ticks);
      await this.opts.store.markPublished([document.id], new Date());
      return true;
    })()
      .catch((err: unknown) => {
        this.opts.log.warn({ err, documentId: document.id }, 'publish failed; the outbox keeps the ticks');
        return false;
      })
      .finally(() => this.inFlight.delete(document.id));
    return withDeadline(attempt, this.opts.publishTimeoutMs, () => false);
  }

  /**
   * Republishes every unpublished document, oldest first, until the outbox is empty or the bus fails. Single-flight.
   */
  drain(): Promise<void> {
    if (this.draining) {
      this.drainRequested = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.drainRequested = false;
        await this.drainOnce().catch((err: unknown) => this.opts.log.warn({ err }, 'outbox drain stopped'));
      } while (this.drainRequested && !this.stopped);
    })().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async retry(): Promise<void> {
    if (this.draining || this.opts.bus.state !== 'connected') return;
    if ((await this.opts.store.outboxDepth().catch(() => 0)) > 0) await this.drain();
  }

  private async drainOnce(): Promise<void> {
    let republished = 0;
    while (!this.stopped && this.opts.bus.state === 'connected') {
      const page = (await this.opts.store.unpublished(DRAIN_PAGE)).filter((d) => !this.inFlight.has(d.id));
      if (page.length === 0) break;
      for (const d of page) this.inFlight.add(d.id);
      try {
        for (const group of this.groups(page)) {
          await this.send(group.flatMap((d) => d.ticks));
          await this.opts.store.markPublished(
            group.map((d) => d.id),
            new Date(),
          );
          republished += group.length;
        }
      } finally {
        for (const d of page) this.inFlight.delete(d.id);
      }
    }
    if (republished > 0) this.opts.log.info({ documents: republished }, 'outbox drained');
  }

  /** The store queue or its binding went away (deleted by hand): declare them again for the retry. */
  private redeclare(): void {
    this.opts.log.warn(
      { queue: this.opts.topology.queue },
      'ticks unroutable: declaring the store queue again; the outbox keeps them',
    );
    this.opts.bus
      .declare(this.topology)
      .catch((err: unknown) => this.opts.log.warn({ err }, 'declaring the store queue again failed'));
  }

  /** Groups documents so that a group's ticks fit one batch (a bigger document is a group of its own). */
  private groups(documents: RawDocument[]): RawDocument[][] {
    const groups: RawDocument[][] = [];
    let current: RawDocument[] = [];
    let size = 0;
    for (const d of documents) {
      if (current.length > 0 && size + d.ticks.length > this.opts.batchSize) {
        groups.push(current);
        current = [];
        size = 0;
      }
      current.push(d);
      size += d.ticks.length;
    }
    if (current.length > 0) groups.push(current);
    return groups;
  }

  private async send(ticks: Tick[]): Promise<void> {
    const publishedAt = Date.now();
    for (let i = 0; i < ticks.length; i += this.opts.batchSize) {
      const slice = ticks.slice(i, i + this.opts.batchSize);
      await this.opts.bus
        .publishBatch(tickMessages(this.opts.topology.exchange, slice, publishedAt))
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === 'LZ_ERR_BUS_UNROUTABLE') this.redeclare();
          throw err;
        });
      const perSource = new Map<string, number>();
      for (const t of slice) perSource.set(t.source, (perSource.get(t.source) ?? 0) + 1);
      for (const [source, n] of perSource) this.opts.metrics.ticksPublished.inc({ source }, n);
    }
  }
}
