import type { FastifyBaseLogger } from 'fastify';
import { backoffDelay, type BackoffOptions, FetchTimeoutError } from '@lizards/lib';
import type { IngestionMetrics } from '../ingestion-metrics.js';
import type { IngestOutcome, IngestPipeline } from '../pipeline/ingest-pipeline.js';
import { rawDocumentOf } from '../raw-store/raw-store.js';
import { BACKOFF_PROBLEMS, type FetchedDocument, type Source, type SourceRequest } from '../sources/source.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { ShardFilter } from './shard-membership.js';

export interface SchedulerOptions {
  sources: readonly Source[];
  pipeline: IngestPipeline;
  shard: ShardFilter;
  /** Most fetches in flight across all sources. */
  concurrency: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  metrics: IngestionMetrics;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'debug'>;
  now?: () => number;
}

/** Per-source status, as GET /sources/status shows it. */
export interface SourceStatus {
  source: string;
  url: string;
  interval_ms: number;
  symbols: number;
  assigned_symbols: string[];
  polls: number;
  fetches: number;
  failures: number;
  consecutive_failures: number;
  documents: number;
  ticks_accepted: number;
  ticks_rejected: number;
  problems: number;
  last_poll_at: string | null;
  last_success_at: string | null;
  last_error_at: string | null;
  last_error: string | null;
  next_poll_at: string | null;
  /** Polls are skipped while the raw store is full: nothing fetched could be kept. */
  paused: boolean;
}

interface SourceState {
  source: Source;
  status: SourceStatus;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Polls each source on its own timer: a poll fetches this instance's share of the source's symbols through a
 * shared concurrency limit, each fetch bounded by a timeout; failures back that source off exponentially.
 * Sources never wait on each other beyond the limiter, and a fetch holds a slot for at most the timeout.
 */
export class Scheduler {
  private readonly states: SourceState[];
  private readonly limiter: ConcurrencyLimiter;
  private readonly now: () => number;
  private readonly backoff: BackoffOptions;
  private started = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.limiter = new ConcurrencyLimiter(opts.concurrency);
    this.backoff = { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs };
    this.now = opts.now ?? Date.now;
    this.states = opts.sources.map((source) => ({
      source,
      timer: undefined,
      running: undefined,
      status: {
        source: source.id,
        url: source.baseUrl,
        interval_ms: source.intervalMs,
        symbols: source.symbols.length,
        assigned_symbols: [],
        polls: 0,
        fetches: 0,
        failures: 0,
        consecutive_failures: 0,
        documents: 0,
        ticks_accepted: 0,
        ticks_rejected: 0,
        problems: 0,
        last_poll_at: null,
        last_success_at: null,
        last_error_at: null,
        last_error: null,
        next_poll_at: null,
        paused: false,
      },
    }));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const state of this.states) this.schedule(state, 0);
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const state of this.states) clearTimeout(state.timer);
    await Promise.all(this.states.map((s) => s.running));
  }

  /** The symbols of a source this instance polls now. */
  assignedSymbols(sourceId: string): string[] {
    const state = this.states.find((s) => s.source.id === sourceId);
    return state ? state.source.symbols.filter((s) => this.opts.shard.owns(s)) : [];
  }

  status(): SourceStatus[] {
    return this.states.map((s) => ({ ...s.status, assigned_symbols: this.assignedSymbols(s.source.id) }));
  }

  /** Polls one source now (also what the timer does). */
  pollNow(sourceId: string): Promise<void> {
    const state = this.states.find((s) => s.source.id === sourceId);
    if (!state) return Promise.resolve();
    state.running ??= this.poll(state).finally(() => (state.running = undefined));
    return state.running;
  }

  private schedule(state: SourceState, delayMs: number): void {
    if (!this.started) return;
    clearTimeout(state.timer);
    state.status.next_poll_at = iso(this.now() + delayMs);
    state.timer = setTimeout(() => {
      const startedAt = this.now();
      void this.pollNow(state.source.id).then(() => {
        const { consecutive_failures: failures } = state.status;
        const sinceStart = this.now() - startedAt;
        // Fixed rate while healthy (the simulated market ticks on time); backoff after failures.
        const delay =
          failures > 0
            ? Math.max(state.source.intervalMs, backoffDelay(failures - 1, this.backoff))
            : Math.max(0, state.source.intervalMs - sinceStart);
        this.schedule(state, delay);
      });
    }, delayMs);
  }

  private async poll(state: SourceState): Promise<void> {
    const { source, status } = state;
    if (status.paused !== !this.opts.pipeline.accepting) {
      status.paused = !status.paused;
      if (status.paused)
        this.opts.log.warn({ source: source.id }, 'raw store full: polling paused until the outbox drains');
      else this.opts.log.info({ source: source.id }, 'raw store has room again: polling resumed');
    }
    // Not a failure of the source: the next poll comes at the usual interval.
    if (status.paused) return;
    const symbols = source.symbols.filter((s) => this.opts.shard.owns(s));
    status.polls++;
    status.last_poll_at = iso(this.now());
    let failure: string | undefined;
    try {
      const requests = source.plan(symbols);
      const results = await Promise.all(requests.map((r) => this.fetchAndIngest(state, r)));
      failure = results.find((r) => r !== undefined);
    } catch (err) {
      failure = (err as Error).message;
    }
    if (failure === undefined) {
      status.consecutive_failures = 0;
      status.last_success_at = iso(this.now());
      return;
    }
    status.failures++;
    status.consecutive_failures++;
    status.last_error_at = iso(this.now());
    status.last_error = failure;
    this.opts.log.warn(
      { source: source.id, consecutiveFailures: status.consecutive_failures, error: failure },
      'poll failed; backing off',
    );
  }

  /** Fetches one request and ingests the response; returns why it failed, if it did. */
  private async fetchAndIngest(state: SourceState, request: SourceRequest): Promise<string | undefined> {
    const { source, status } = state;
    const { metrics } = this.opts;
    let document: FetchedDocument;
    try {
      document = await this.limiter.run(() => this.fetchWithTimeout(source, request));
    } catch (err) {
      status.fetches++;
      const timedOut = (err as { code?: string }).code === 'LZ_ERR_INGESTION_FETCH_TIMEOUT';
      metrics.fetches.inc({ source: source.id, outcome: timedOut ? 'timeout' : 'network_error' });
      return (err as Error).message;
    }
    status.fetches++;
    metrics.fetches.inc({ source: source.id, outcome: document.status < 400 ? 'ok' : 'http_error' });
    let outcome: IngestOutcome;
    try {
      outcome = await this.opts.pipeline.ingest(rawDocumentOf(document, request.symbols), () =>
        source.parse(document, request),
      );
    } catch (err) {
      // Filled up since the poll began: the response was not taken, and the next poll after the pause fetches afresh.
      if ((err as { code?: string }).code === 'LZ_ERR_INGESTION_RAW_STORE_FULL') return undefined;
      throw err;
    }
    status.documents++;
    status.ticks_accepted += outcome.accepted.length;
    status.ticks_rejected += outcome.rejections.length;
    status.problems += outcome.problems.length;
    const serious = outcome.problems.find((p) => BACKOFF_PROBLEMS.has(p.reason));
    return serious ? `${serious.reason}: ${serious.message}` : undefined;
  }

  private async fetchWithTimeout(source: Source, request: SourceRequest) {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new FetchTimeoutError(source.id, this.opts.timeoutMs)),
      this.opts.timeoutMs,
    );
    const end = this.opts.metrics.fetchDuration.startTimer({ source: source.id });
    try {
      return await source.fetch(request, controller.signal);
    } finally {
      end();
      clearTimeout(timer);
    }
  }
}
