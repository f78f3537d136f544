// `pnpm bench`: every bench in turn; a failing bench is reported and the others still run.
import { exitOnSignals, runBench, type Bench } from './harness/bench-runner.js';
import { cacheBench } from './cache.js';
import { dashboardFirstView } from './dashboard-first-view.js';
import { gatewayOverhead } from './gateway-overhead.js';
import { historyScale } from './history-scale.js';
import { pipelineBench } from './pipeline.js';
import { registryBench } from './registry.js';
import { wsFanout } from './ws-fanout.js';

/** Every bench, in the order `pnpm bench` runs them. */
const benches: [string, Bench][] = [
  ['gateway-overhead', gatewayOverhead],
  ['cache', cacheBench],
  ['ws-fanout', wsFanout],
  ['pipeline', pipelineBench],
  ['registry', registryBench],
  ['history-scale', historyScale],
  ['dashboard-first-view', dashboardFirstView],
];

exitOnSignals();
const quick = process.argv.includes('--quick');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const failed: string[] = [];
const started = Date.now();
for (const [name, bench] of benches) {
  if (only.length > 0 && !only.includes(name)) continue;
  try {
    await runBench(name, bench, { quick, save: true });
  } catch (err) {
    failed.push(name);
    process.stderr.write(`${name} failed: ${(err as Error).stack ?? String(err)}\n`);
  }
}
process.stdout.write(
  `\nall benches done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in bench/results/README.md\n`,
);
process.exit(failed.length > 0 ? 1 : 0);
