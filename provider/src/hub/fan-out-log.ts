import { performance } from 'node:perf_hooks';
import type { CommittedTick } from './provisional-ticks.js';
import type { SubscriptionIndex } from './subscription-index.js';
import type { UpdateEncoder } from './update-encoder.js';

/** A client of the fan-out: it is handed every tick of a slice and keeps those of its own symbols. */
export interface FanOutClient {
  push(ticks: CommittedTick[], encoder: UpdateEncoder): void;
}

export interface FanOutLogOptions<C extends FanOutClient> {
  subscriptions: Pick<SubscriptionIndex<C>, 'subscribers'>;
  /** A fresh encoder for each slice: clients of one slice share its serialized messages. */
  encoder: () => UpdateEncoder;
  onError: (err: unknown) => void;
}

/** Longest stretch of a pass before it lets other I/O run. */
const PASS_SLICE_MS = 2;

/**
 * The live ticks not handed out yet, in seq order, and the sweep that hands them out. A pass takes everything
 * logged so far as one slice and visits only the subscribers of the slice's symbols, each once, handing each
 * the whole slice in one write; ticks logged meanwhile are the next pass's slice. So a tick waits at most one
 * pass, each subscriber gets each tick once and in order, and clients of one pass share one list (and so the
 * same serialized messages). A pass yields to I/O every few milliseconds, so the worker's commits and client
 * messages are not held up behind a large fan-out.
 */
export class FanOutLog<C extends FanOutClient> {
  private log: CommittedTick[] = [];
  private sweeping: Promise<void> | undefined;

  constructor(private readonly opts: FanOutLogOptions<C>) {}

  /** Live ticks in seq order, each exactly once. */
  append(ticks: CommittedTick[]): void {
    for (const t of ticks) this.log.push(t);
    // Started a microtask later, so that ticks appended from within a pass (or the same turn) wait their turn.
    this.sweeping ??= Promise.resolve()
      .then(() => this.sweep())
      .catch(this.opts.onError)
      .finally(() => (this.sweeping = undefined));
  }

  /** Resolves once the fan-out has nothing left to hand out, including what is appended while it waits. */
  async idle(): Promise<void> {
    while (this.sweeping) await this.sweeping;
  }

  /** Resolves once every tick appended so far has been handed out. */
  drained(): Promise<void> {
    return this.sweeping ?? Promise.resolve();
  }

  private async sweep(): Promise<void> {
    while (this.log.length > 0) {
      const slice = this.log;
      this.log = [];
      await this.pass(slice);
    }
  }

  private async pass(slice: CommittedTick[]): Promise<void> {
    const encoder = this.opts.encoder();
    try {
      let started = performance.now();
      let visited = 0;
      // Who subscribes during the pass gets these ticks from its snapshot or resume read instead: all of
      // them are at or below the live cursor.
      for (const client of this.subscribersOf(slice)) {
        client.push(slice, encoder);
        if (++visited % 32 === 0 && performance.now() - started > PASS_SLICE_MS) {
          encoder.flush();
          await new Promise((resolve) => setImmediate(resolve));
          started = performance.now();
        }
      }
    } finally {
      encoder.flush();
    }
  }

  /** The clients subscribed to any symbol of `slice`, each once. */
  private subscribersOf(slice: CommittedTick[]): Set<C> {
    const symbols = new Set<string>();
    for (const t of slice) symbols.add(t.symbol);
    const clients = new Set<C>();
    for (const s of symbols) for (const c of this.opts.subscriptions.subscribers(s)) clients.add(c);
    return clients;
  }
}
