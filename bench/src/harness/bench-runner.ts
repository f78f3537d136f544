import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Skipped } from './peers.js';
import { machine, printResult, saveResult, type BenchResult, type Figure } from './results.js';

export interface BenchOptions {
  /** Seconds, not minutes: the smallest configuration that still exercises every path (smoke test). */
  quick: boolean;
  /** Where results are written; undefined = bench/results. */
  resultsDir?: string;
  /** false = do not write files (only return the result). */
  save: boolean;
}

export interface BenchOutput {
  config: Record<string, unknown>;
  figures: Figure[];
  checks: string[];
  /** What could not be measured (a peer's program missing, a feature the services lack yet), by name. */
  skipped?: Skipped[];
}

export type Bench = (opts: BenchOptions & { run: string }) => Promise<BenchOutput>;

/** Runs a bench with a fresh run id, prints and saves its result. */
export async function runBench(name: string, bench: Bench, opts: BenchOptions): Promise<BenchResult> {
  const run = randomUUID().slice(0, 8);
  const started = Date.now();
  const out = await bench({ ...opts, run });
  const result: BenchResult = {
    bench: name,
    startedAt: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    machine: machine(),
    config: { ...out.config, quick: opts.quick, run },
    figures: out.figures,
    checks: out.checks,
    skipped: out.skipped ?? [],
  };
  printResult(result);
  if (opts.save) await saveResult(result, opts.resultsDir);
  return result;
}

/** True when `importMetaUrl` is the script node was started with. */
export function isMain(importMetaUrl: string): boolean {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(process.argv[1]).href;
}

/** For a bench's own process: Ctrl-C or kill exits through process.exit, so the servers it started are stopped too. */
export function exitOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
}

/** `node bench/dist/<name>.js [--quick]`: run one bench alone. */
export async function mainOf(name: string, bench: Bench): Promise<void> {
  exitOnSignals();
  try {
    await runBench(name, bench, { quick: process.argv.includes('--quick'), save: !process.argv.includes('--no-save') });
    process.exit(0);
  } catch (err) {
    process.stderr.write(`${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}
