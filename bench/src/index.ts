export { runBench, type Bench, type BenchOptions } from './harness/bench-runner.js';
export { cacheBench } from './cache.js';
export { gatewayOverhead } from './gateway-overhead.js';
export { pipelineBench } from './pipeline.js';
export { registryBench } from './registry.js';
export { wsFanout } from './ws-fanout.js';
