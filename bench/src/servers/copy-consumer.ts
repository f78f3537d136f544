// The pipeline's COPY baseline: the consumer a user would write to store ticks from RabbitMQ in PostgreSQL — amqplib
// consume with prefetch, everything that arrived while the last write ran COPYed in one transaction into a table
// identical to the provider's `ticks`, acked after the commit. GET /stored says how many rows it has committed.
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect, type ConsumeMessage } from 'amqplib';
import postgres from 'postgres';

interface WireTick {
  symbol: string;
  price: number;
  timestamp: string;
  source: string;
  volume?: number;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const schema = required('DATABASE_SCHEMA');
const sql = postgres(required('DATABASE_URL'), { max: 1, onnotice: () => undefined });
const amqp = await connect(required('AMQP_URL'));
const channel = await amqp.createChannel();
await channel.prefetch(Number(process.env.PREFETCH ?? 1000));

// COPY's text format: tab-separated columns, \N for NULL, backslash escapes in text.
const text = (s: string) =>
  s.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
function copyLines(msg: ConsumeMessage): { lines: string; rows: number; days: string[] } {
  const body = JSON.parse(msg.content.toString()) as WireTick | { ticks: WireTick[] };
  const publishedAt = Number(msg.properties.headers?.['x-published-at']);
  const published = publishedAt > 0 ? new Date(publishedAt).toISOString() : '\\N';
  const ticks = 'ticks' in body ? body.ticks : [body];
  let lines = '';
  for (const t of ticks) {
    lines += `${text(t.symbol)}\t${text(t.source)}\t${t.timestamp}\t${t.price}\t${t.volume ?? '\\N'}\t${published}\n`;
  }
  return { lines, rows: ticks.length, days: ticks.map((t) => t.timestamp.slice(0, 10)) };
}

let pending: { messages: ConsumeMessage[]; lines: string[]; rows: number; days: Set<string> } = {
  messages: [],
  lines: [],
  rows: 0,
  days: new Set(),
};
let stored = 0;
let writing = false;

async function writePending(): Promise<void> {
  writing = true;
  while (pending.messages.length > 0) {
    const batch = pending;
    pending = { messages: [], lines: [], rows: 0, days: new Set() };
    await sql.begin(async (tx) => {
      // The table is partitioned by day (provider migration 002, no default partition): as the provider's writer does,
      // the days of the batch get their partition first.
      await tx`SELECT ${tx(schema)}.ensure_tick_partition(day::date) FROM unnest(${[...batch.days]}::text[]) AS day`;
      const copy = await tx`COPY ${tx(schema)}.ticks (symbol, source, "timestamp", price, volume, published_at)
        FROM STDIN`.writable();
      await pipeline(Readable.from([batch.lines.join('')]), copy);
    });
    // Every delivery of the batch at once: deliveries that came during the write have higher tags and wait.
    channel.ack(batch.messages.at(-1)!, true);
    stored += batch.rows;
  }
  writing = false;
}

await channel.consume(required('QUEUE'), (msg) => {
  if (!msg) return;
  const { lines, rows, days } = copyLines(msg);
  pending.messages.push(msg);
  pending.lines.push(lines);
  pending.rows += rows;
  for (const day of days) pending.days.add(day);
  if (!writing) {
    writing = true;
    // Whatever else arrived in the same read joins this first batch.
    setImmediate(() =>
      writePending().catch((err: unknown) => {
        process.stderr.write(`copy-consumer: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      }),
    );
  }
});

const http = createServer((req, res) => {
  if (req.url === '/health') return res.writeHead(200).end();
  if (req.url === '/stored')
    return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rows: stored }));
  res.writeHead(404).end();
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.once('SIGTERM', () => void amqp.close().finally(() => sql.end().finally(() => process.exit(0))));
