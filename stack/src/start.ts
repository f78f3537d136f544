import { performance } from 'node:perf_hooks';
import { loadConfig } from '@lizards/lib';
import { StackConfig } from './config/stack-config.js';
import { backingServices, probeBackingServices, REQUIRED_FOR_REAL } from './stack/backing-services.js';
import { banner } from './stack/banner.js';
import type { RunningStack } from './stack/start-stack.js';

const USAGE = `usage: node stack/dist/start.js [--real]
  --real   use the real PostgreSQL, RabbitMQ and Redis: refuse to start unless
           DATABASE_URL, AMQP_URL and REDIS_URL are set and answer`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--real');
if (unknown.length > 0) fail(`unknown argument ${unknown.join(' ')}\n${USAGE}`);
const real = args.includes('--real');

let config: StackConfig;
try {
  config = loadConfig(StackConfig);
} catch (err) {
  fail((err as Error).message);
}

const backing = backingServices(config);
if (real) {
  const missing = REQUIRED_FOR_REAL.filter((name) => !config[name]);
  if (missing.length > 0) fail(`--real: ${missing.join(', ')} not set (the real servers are required)`);
}
const problems = await probeBackingServices(backing, config.BACKING_PROBE_TIMEOUT_MS);
if (problems.length > 0) fail(`cannot start: ${problems.join('\n               ')}`);

let stack: RunningStack | undefined;
let stopping = false;

async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    process.stderr.write(`${signal} again: exiting without waiting\n`);
    process.exit(1);
  }
  stopping = true;
  // A signal during the start: everything lives in this process (the registry too), so exiting ends it all.
  if (!stack) process.exit(0);
  process.stdout.write(`\n${signal}: stopping...\n`);
  const force = setTimeout(() => {
    process.stderr.write('shutdown timed out\n');
    process.exit(1);
  }, 15_000);
  force.unref();
  try {
    await stack.shutdown();
    process.stdout.write('stopped.\n');
    process.exit(0);
  } catch (err) {
    process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
process.on('SIGINT', (s) => void stop(s));
process.on('SIGTERM', (s) => void stop(s));

try {
  // Loaded only now: a refused start (bad argument, --real without servers) answers without loading every service.
  const { startStack } = await import('./stack/start-stack.js');
  stack = await startStack();
} catch (err) {
  fail(`cannot start: ${(err as Error).message}`);
}
process.stdout.write(
  banner({
    gatewayUrl: stack.gatewayUrl,
    registryUrl: stack.registryUrl,
    madeRegistryToken: config.REGISTRY_TOKEN ? undefined : stack.registryToken,
    ingest: stack.ingest,
    backing: stack.backing,
    providers: stack.providers.length,
    startedInMs: performance.now(),
  }),
);
