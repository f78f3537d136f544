import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resultsDir } from './paths.js';
import type { Skipped } from './peers.js';

/** One printed figure: a value, its same-run baseline and the ratio, with the target it is held to. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  target?: string;
  met?: boolean;
  /** The peer (not Lizards code) measured in this figure, with its version, e.g. "nginx 1.22.1". */
  peer?: string;
}

export interface BenchResult {
  bench: string;
  startedAt: string;
  durationS: number;
  machine: { cpus: number; cpu: string; node: string };
  config: Record<string, unknown>;
  figures: Figure[];
  checks: string[];
  /** Peers or figures that could not be measured, by name, with the reason (never left out silently). */
  skipped: Skipped[];
}

/** A figure with the ratio value/baseline. */
export function ratioFigure(
  name: string,
  value: number,
  unit: string,
  baseline: { name: string; value: number },
  target?: { min?: number; max?: number },
): Figure {
  const ratio = value / baseline.value;
  return { name, value, unit, baseline, ratio, ...targetOf(ratio, target, 'x') };
}

/** A figure held to an absolute bound. */
export function valueFigure(
  name: string,
  value: number,
  unit: string,
  target?: { min?: number; max?: number },
): Figure {
  return { name, value, unit, ...targetOf(value, target, ` ${unit}`) };
}

function targetOf(
  v: number,
  target: { min?: number; max?: number } | undefined,
  suffix: string,
): Pick<Figure, 'target' | 'met'> {
  if (!target) return {};
  if (target.min !== undefined) return { target: `>= ${target.min}${suffix}`, met: v >= target.min };
  return { target: `<= ${target.max}${suffix}`, met: v <= target.max! };
}

export function machine(): BenchResult['machine'] {
  return { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

/** Prints the figures as a table on stdout. */
export function printResult(r: BenchResult): void {
  process.stdout.write(`\n== ${r.bench} (${r.durationS.toFixed(0)} s)\n`);
  for (const f of r.figures) {
    const base = f.baseline
      ? `  vs ${f.baseline.name} ${fmt(f.baseline.value)} ${f.unit}` +
        (f.ratio !== undefined ? ` = ${fmt(f.ratio)}x` : '')
      : '';
    const target = f.target ? `  [target ${f.target}: ${f.met ? 'met' : 'NOT MET'}]` : '';
    process.stdout.write(`  ${f.name}: ${fmt(f.value)} ${f.unit}${base}${target}\n`);
  }
  for (const c of r.checks) process.stdout.write(`  check: ${c}\n`);
  for (const s of r.skipped) process.stdout.write(`  SKIPPED ${s.name}: ${s.reason}\n`);
}

/** Writes bench/results/<bench>.json (unless `dir` says elsewhere) and regenerates the README table. */
export async function saveResult(r: BenchResult, dir = resultsDir): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${r.bench}.json`, `${JSON.stringify(r, null, 2)}\n`);
  await writeResultsReadme(dir);
}

async function writeResultsReadme(dir: string): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const results = await Promise.all(
    files.map(async (f) => JSON.parse(await readFile(`${dir}/${f}`, 'utf8')) as BenchResult),
  );
  const lines = [
    '# Benchmark results',
    '',
    'Written by `pnpm bench` (or one bench alone, see bench/README.md). ' +
      'Every ratio is against a baseline measured in the',
    'same run on 127.0.0.1; the JSON files next to this one hold the configuration and the correctness ' +
      'checks of each run.',
    '',
    'The peer column names what a figure is compared with when that is not Lizards code, with the version measured.',
    '',
    '| bench | figure | value | baseline | peer | ratio | target | met | run |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const f of r.figures) {
      const base = f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}` : '';
      const ratio = f.ratio !== undefined ? `${fmt(f.ratio)}x` : '';
      const met = f.met === undefined ? '' : f.met ? 'yes' : '**no**';
      lines.push(
        `| ${r.bench} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${base} | ${f.peer ?? ''} | ${ratio} | ` +
          `${f.target ?? ''} | ${met} | ${r.startedAt.slice(0, 16)}Z, ${r.machine.cpus} cores |`,
      );
    }
  }
  const skipped = results.flatMap((r) =>
    (r.skipped ?? []).map((s) => `- ${r.bench}: **${s.name}** skipped: ${s.reason}`),
  );
  if (skipped.length > 0) lines.push('', '## Skipped', '', ...skipped);
  lines.push('');
  await writeFile(`${dir}/README.md`, lines.join('\n'));
}
