import type { Sql, TransactionSql } from 'postgres';

const DAY_MS = 86_400_000;

/** The UTC day (days since the epoch) a time falls in: the partition of `ticks` that holds it. */
export const utcDay = (ms: number): number => Math.floor(ms / DAY_MS);

const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/**
 * The day partitions of `ticks` (one per UTC day, made by the migration's `ensure_tick_partition`). Every change is
 * made under the advisory lock `lizards.partitions.<schema>`, so providers that start or roll over a day together
 * take turns instead of racing to create the same table. DDL waits at most 2 s for its locks and fails
 * rather than queue readers and writers behind it for longer; the next attempt tries again.
 */
export class TickPartitions {
  /** Days known to have a partition; forgotten when a write finds one gone (another provider's retention). */
  private readonly known = new Set<number>();

  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
  ) {}

  /** Makes sure a partition exists for the day of every one of `times` (ms since the epoch). */
  async cover(times: Iterable<number>): Promise<void> {
    const missing = new Set<number>();
    for (const t of times) {
      const day = utcDay(t);
      if (!this.known.has(day)) missing.add(day);
    }
    if (missing.size > 0) await this.ensure([...missing]);
  }

  /** Creates the partitions of `days` that do not exist yet; returns how many it created. */
  async ensure(days: number[]): Promise<number> {
    const created = await this.locked(
      (tx) =>
        tx<
          { created: boolean }[]
        >`SELECT ensure_tick_partition(day) AS created FROM unnest(${days.map(isoDay)}::date[]) AS day`,
    );
    for (const d of days) this.known.add(d);
    return created.filter((r) => r.created).length;
  }

  /** Drops every partition whose day ended at or before `cutoff`; returns their names. */
  async dropBefore(cutoff: Date): Promise<string[]> {
    const dropped = await this.locked(
      (tx) => tx<{ name: string }[]>`SELECT drop_tick_partitions_before(${cutoff}) AS name`,
    );
    for (const d of [...this.known]) if ((d + 1) * DAY_MS <= cutoff.getTime()) this.known.delete(d);
    return dropped.map((r) => r.name);
  }

  /** After a write found no partition for a row: nothing known is trusted until checked again. */
  forget(): void {
    this.known.clear();
  }

  private locked<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    return this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${`lizards.partitions.${this.schema}`}))`;
      await tx`SET LOCAL lock_timeout = '2s'`;
      return fn(tx);
    }) as Promise<T>;
  }
}
