export { runBench, type Bench, type BenchOptions } from './harness/bench-runner.js';
export type { BenchResult, Figure } from './harness/results.js';
export { cacheBench } from './cache.js';
export { dashboardFirstView } from './dashboard-first-view.js';
export { gatewayOverhead } from './gateway-overhead.js';
export { historyScale } from './history-scale.js';
export { pipelineBench } from './pipeline.js';
export { registryBench } from './registry.js';
export { wsFanout } from './ws-fanout.js';
