// The pipeline bench's companion measurement: the worker's store path alone, the same ticks in the same batches into
// the partitioned store with candle rollups (the provider's PostgresTickWriter) and into the unpartitioned table of
// migration 001 with its writer's SQL (testkit), in alternating rounds so both see the same machine.
import { migrate, openPostgresPriceStore, readMigrations, tickArrays, type NewTick } from '@lizards/provider/store';
import { UNPARTITIONED_INSERT_SQL, UNPARTITIONED_SYMBOLS_SQL } from '@lizards/testkit';
import postgres from 'postgres';
import { dropSchema } from './harness/cleanup.js';
import { backends } from './harness/services.js';

export interface StorePathResult {
  partitionedPerSec: number;
  unpartitionedPerSec: number;
  checks: string[];
}

/**
 * Writes `ticks` in batches of `batch` (the worker's STORE_BATCH_SIZE) into both stores, `rounds` slices each in turn.
 */
export async function storePath(
  ticks: NewTick[],
  batch: number,
  rounds: number,
  run: string,
): Promise<StorePathResult> {
  const partitionedSchema = `lz_bench_${run}_part`;
  const unpartitionedSchema = `lz_bench_${run}_unpart`;
  const store = await openPostgresPriceStore({ url: backends.databaseUrl, schema: partitionedSchema, readPoolSize: 1 });
  const sql = postgres(backends.databaseUrl, {
    max: 1,
    onnotice: () => undefined,
    connection: { search_path: unpartitionedSchema },
  });
  try {
    const [first] = await readMigrations();
    await migrate(sql, unpartitionedSchema, [first!]);
    const writeUnpartitioned = (slice: NewTick[]) =>
      sql.begin((tx) => [
        tx`SELECT pg_advisory_xact_lock(hashtext(${`lizards.ticks.${unpartitionedSchema}`}))`,
        tx.unsafe(UNPARTITIONED_INSERT_SQL, tickArrays(slice)),
        tx.unsafe(UNPARTITIONED_SYMBOLS_SQL, lastTickPerSymbol(slice)),
      ]);
    let partitionedMs = 0;
    let unpartitionedMs = 0;
    const perRound = Math.ceil(ticks.length / rounds);
    for (let r = 0; r < rounds; r++) {
      const round = ticks.slice(r * perRound, (r + 1) * perRound);
      // Alternate which store goes first, so neither always meets the other's leftovers (checkpoints, autovacuum).
      const order = r % 2 === 0 ? ['partitioned', 'unpartitioned'] : ['unpartitioned', 'partitioned'];
      for (const which of order) {
        const t = performance.now();
        for (let i = 0; i < round.length; i += batch) {
          const slice = round.slice(i, i + batch);
          if (which === 'partitioned') await store.writer.write(slice);
          else await writeUnpartitioned(slice);
        }
        if (which === 'partitioned') partitionedMs += performance.now() - t;
        else unpartitionedMs += performance.now() - t;
      }
    }
    const count = async (schema: string) =>
      Number((await sql.unsafe(`SELECT count(*)::int AS n FROM "${schema}".ticks`))[0]!.n);
    const [partitioned, unpartitioned] = [await count(partitionedSchema), await count(unpartitionedSchema)];
    const candles = Number(
      (await sql.unsafe(`SELECT sum(ticks)::int AS n FROM "${partitionedSchema}".candles WHERE seconds = 60`))[0]!.n,
    );
    if (partitioned !== ticks.length || unpartitioned !== ticks.length || candles !== ticks.length) {
      throw new Error(
        `store path: ${partitioned} partitioned rows (${candles} in 1-minute candles), ` +
          `${unpartitioned} unpartitioned, ${ticks.length} written`,
      );
    }
    return {
      partitionedPerSec: ticks.length / (partitionedMs / 1000),
      unpartitionedPerSec: ticks.length / (unpartitionedMs / 1000),
      checks: [
        `store path: ${ticks.length} ticks in batches of ${batch} counted back in both stores, ` +
          'and in the 1-minute candles',
      ],
    };
  } finally {
    await store.close();
    await sql.end();
    await dropSchema(partitionedSchema);
    await dropSchema(unpartitionedSchema);
  }
}

function lastTickPerSymbol(ticks: NewTick[]): [string[], string[]] {
  const last = new Map<string, Date>();
  for (const t of ticks) if (!last.has(t.symbol) || last.get(t.symbol)! < t.timestamp) last.set(t.symbol, t.timestamp);
  return [[...last.keys()], [...last.values()].map((d) => d.toISOString())];
}
