export { runBench, type Bench, type BenchOptions } from './harness/bench-runner.js';
export { gatewayOverhead } from './gateway-overhead.js';
