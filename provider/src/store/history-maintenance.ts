import type { FastifyBaseLogger } from 'fastify';
import type { Sql } from 'postgres';
import { ROLLUP_SECONDS } from './candle-plan.js';
import { utcDay, type TickPartitions } from './tick-partitions.js';

const DAY_MS = 86_400_000;

/** How long ticks and candles are kept, in days; null = forever. */
export interface Retention {
  tickDays: number | null;
  candleDays: number | null;
}

export interface MaintenanceReport {
  /** Partitions created ahead of need. */
  created: number;
  /** Tick partitions dropped by retention. */
  dropped: string[];
  /** Candles deleted by retention. */
  candlesDeleted: number;
}

/**
 * Keeps the stored history in shape: partitions for today and the next `daysAhead` days before any tick needs them,
 * whole days of ticks dropped once older than the tick retention, candles deleted once older than theirs. Any
 * number of providers may run it: the partition changes take turns under an advisory lock, the deletes are idempotent.
 */
export class HistoryMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly partitions: TickPartitions,
    private readonly retention: Retention,
    private readonly daysAhead = 2,
  ) {}

  async runOnce(now = new Date()): Promise<MaintenanceReport> {
    const today = utcDay(now.getTime());
    const created = await this.partitions.ensure(Array.from({ length: this.daysAhead + 1 }, (_, i) => today + i));
    const dropped =
      this.retention.tickDays === null
        ? []
        : await this.partitions.dropBefore(new Date(now.getTime() - this.retention.tickDays * DAY_MS));
    const candlesDeleted =
      this.retention.candleDays === null
        ? 0
        : await this.deleteCandlesBefore(new Date(now.getTime() - this.retention.candleDays * DAY_MS));
    return { created, dropped, candlesDeleted };
  }

  /**
   * Runs once now, then every `intervalMs`, in the background (the writer makes any partition it needs itself, so
   * nothing waits for a run); a failed run is logged and tried again at the next one.
   */
  start(log: FastifyBaseLogger, intervalMs = 15 * 60_000): void {
    const run = () => {
      this.running ??= this.runOnce()
        .then((report) => {
          if (report.created > 0 || report.dropped.length > 0 || report.candlesDeleted > 0)
            log.info(report, 'history maintenance');
        })
        .catch((err: unknown) => log.warn({ err }, 'history maintenance failed; will retry'))
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(run, intervalMs);
    run();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Candles whose bucket ended at or before `cutoff`, found per symbol and width through the primary key. */
  private async deleteCandlesBefore(cutoff: Date): Promise<number> {
    const result = await this.sql`
      DELETE FROM candles c USING symbols s, unnest(${[...ROLLUP_SECONDS]}::int[]) AS w(seconds)
       WHERE c.symbol = s.symbol AND c.seconds = w.seconds
         AND c.start <= ${cutoff}::timestamptz - make_interval(secs => w.seconds)`;
    return result.count;
  }
}
