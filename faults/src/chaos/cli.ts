// `pnpm chaos [--minutes N] [--seed S] [--clients N]`: the chaos soak (README: "Chaos soak"). Exits 1 on a violation,
// printing the seed and the fault timeline so that `pnpm chaos --seed S` replays the schedule.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CHAOS_DEFAULTS, runChaos } from './chaos.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string', default: process.env.CHAOS_SEED },
    clients: { type: 'string', default: process.env.CHAOS_CLIENTS },
  },
});

function numberOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`chaos: --${name} must be a positive number, got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

const seed = Math.floor(numberOption('seed', values.seed, randomInt(1, 2 ** 31)));
const minutes = numberOption('minutes', values.minutes, 10);
const clients = Math.floor(numberOption('clients', values.clients, CHAOS_DEFAULTS.clients));
const log = (line: string) => process.stdout.write(`${line}\n`);

// Ctrl-C ends the soak early, still closing the stack (its processes, schema, queues, Redis keys); twice, at once.
const abort = new AbortController();
process.once('SIGINT', () => {
  abort.abort();
  process.once('SIGINT', () => process.exit(130));
});

try {
  const report = await runChaos({
    ...CHAOS_DEFAULTS,
    seed,
    minutes,
    clients,
    log,
    trace: process.env.CHAOS_TRACE === '1',
    signal: abort.signal,
  });
  const { timeline, violations, ...figures } = report;
  log(JSON.stringify(figures, null, 2));
  if (violations.length > 0) {
    log(`\nchaos FAILED (seed ${seed}): ${violations.length} violation(s)`);
    for (const v of violations.slice(0, 50)) log(`  ${v}`);
    log(`fault timeline:\n${timeline}`);
    log(`replay: pnpm chaos --seed ${seed} --minutes ${minutes} --clients ${clients}`);
    process.exit(1);
  }
  log(`chaos passed (seed ${seed})`);
} catch (err) {
  log(`chaos FAILED (seed ${seed}): ${(err as Error).stack ?? String(err)}`);
  log(`replay: pnpm chaos --seed ${seed} --minutes ${minutes} --clients ${clients}`);
  process.exit(1);
}
