// The history-scale bench's baseline: the provider app as it is, its latest, history and candle queries those of the
// unpartitioned store (schema of migration 001, testkit's SQL) over a schema the bench filled. Read-only, no worker.
import { randomUUID } from 'node:crypto';
import { createBus, loadConfig, loggerOptions, runService } from '@lizards/lib';
import { appOptionsFromConfig, buildProviderApp, ProviderConfig } from '@lizards/provider';
import {
  PostgresPriceRepository,
  toCandle,
  toStoredTick as stored,
  type Candle,
  type CandleRow,
  type HistoryPage,
  type StoredTick,
  type TickRow as Row,
} from '@lizards/provider/store';
import { UNPARTITIONED_CANDLES_SQL, UNPARTITIONED_HISTORY_SQL, UNPARTITIONED_LATEST_SQL } from '@lizards/testkit';
import postgres, { type Sql } from 'postgres';

/** The symbol and cursor queries are unchanged; latest, history and candles run the unpartitioned store's SQL. */
class UnpartitionedRepository extends PostgresPriceRepository {
  constructor(private readonly db: Sql) {
    super(db);
  }

  override async latest(symbols: string[]): Promise<StoredTick[]> {
    return (await this.db.unsafe<Row[]>(UNPARTITIONED_LATEST_SQL, [symbols])).map(stored);
  }

  override async history(q: { symbol: string; from: Date; to: Date; limit: number }): Promise<HistoryPage> {
    const rows = await this.db.unsafe<Row[]>(UNPARTITIONED_HISTORY_SQL, [
      q.symbol,
      q.from.toISOString(),
      q.to.toISOString(),
      q.limit,
    ]);
    return { ticks: rows.map(stored) };
  }

  override async candles(symbol: string, intervalSeconds: number, from: Date, to: Date): Promise<Candle[]> {
    const rows = await this.db.unsafe<CandleRow[]>(UNPARTITIONED_CANDLES_SQL, [
      symbol,
      intervalSeconds,
      from.toISOString(),
      to.toISOString(),
    ]);
    return rows.map(toCandle);
  }
}

const config = loadConfig(ProviderConfig);
const sql = postgres(config.DATABASE_URL!, {
  max: config.DATABASE_POOL_SIZE,
  onnotice: () => {},
  connection: {
    search_path: config.DATABASE_SCHEMA,
    application_name: 'lizards-bench-unpartitioned',
    default_transaction_read_only: true,
  },
});
const repository = new UnpartitionedRepository(sql);
const bus = createBus(undefined);
const app = buildProviderApp({
  repository,
  history: repository,
  bus,
  ...appOptionsFromConfig(config, randomUUID()),
  session: { secret: randomUUID(), ttlSeconds: 60 },
  logger: loggerOptions({ level: config.LOG_LEVEL, service: 'provider-unpartitioned' }),
  releaseResources: async () => {
    await bus.close();
    await sql.end();
  },
});
// Not registered (no service id): the bench calls it directly, /ready on its admin listener as every service.
await runService({ app, config });
