import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import { createLogger, registerService } from '@lizards/lib';
import type { GatewayConfig } from '../config.js';
import { isGatewayMessage, type ScrapeResponse } from './cluster-messages.js';
import { workerCount } from './worker-count.js';

/** A worker that lived this long is replaced at once; one that died sooner, after a pause that doubles each time. */
const STEADY_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;

/** True when this process is to fork the gateway's workers (GATEWAY_WORKERS > 1) rather than serve itself. */
export function isClusterPrimary(config: GatewayConfig): boolean {
  return cluster.isPrimary && workerCount(config.GATEWAY_WORKERS) > 1;
}

/**
 * The primary of a gateway cluster. It forks GATEWAY_WORKERS workers that share the public and admin ports
 * (node:cluster hands the connections out in turn); registers the gateway with the registry once, when the first
 * worker listens (one address, one instance); answers a worker's /metrics scrape with every worker's series
 * aggregated (prom-client's AggregatorRegistry); replaces a worker that dies. On SIGTERM/SIGINT it deregisters, lets
 * every worker drain and exits 0 (1 when one did not stop cleanly). If a worker dies before any has listened, the
 * start failed (its error is on stderr): the primary stops and exits 1 rather than retrying a bad config forever.
 * Never resolves: it ends the process.
 */
export function runGatewayPrimary(config: GatewayConfig): Promise<never> {
  const log = createLogger({ level: config.LOG_LEVEL, service: 'gateway' }).child({ role: 'cluster-primary' });
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  const bornAt = new Map<number, number>();
  const restarts = new Set<NodeJS.Timeout>();
  let registration: ReturnType<typeof registerService> | undefined;
  let listened = false;
  let stopping = false;
  let restartDelayMs = 0;

  const answer = (worker: Worker, message: ScrapeResponse) => {
    if (worker.isConnected()) worker.send(message);
  };
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isGatewayMessage(message)) return;
    if (message.type === 'lz:gateway:listening') {
      log.info({ worker: worker.process.pid, port: message.port, adminPort: message.adminPort }, 'worker listening');
      listened = true;
      if (registration || stopping) return;
      const { port, adminPort } = message;
      registration = registerService({ config, serviceId: 'gateway', port, adminPort, log });
      registration.catch((err: unknown) => log.error({ err }, 'registration failed'));
    } else if (message.type === 'lz:gateway:scrape') {
      aggregator.clusterMetrics().then(
        (text) => answer(worker, { type: 'lz:gateway:scraped', id: message.id, text }),
        (err: Error) => answer(worker, { type: 'lz:gateway:scraped', id: message.id, error: err.message }),
      );
    }
  };
  const fork = () => {
    const worker = cluster.fork();
    bornAt.set(worker.id, Date.now());
    worker.on('message', (message: unknown) => onMessage(worker, message));
  };

  const stop = async (reason: string, code: 0 | 1) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    for (const timer of restarts) clearTimeout(timer);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const force = setTimeout(() => {
      log.error({ reason }, 'graceful shutdown timed out');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 1000);
    force.unref();
    const registered = await registration?.catch(() => undefined);
    await registered?.registrar.stop();
    await registered?.client.close().catch(() => undefined);
    const clean = await Promise.all(
      workers.map((worker) => {
        if (worker.isDead()) return worker.process.exitCode === 0;
        const exited = new Promise<boolean>((resolve) => worker.once('exit', (exitCode) => resolve(exitCode === 0)));
        worker.process.kill('SIGTERM');
        return exited;
      }),
    );
    log.info({ workers: workers.length }, 'stopped');
    process.exit(clean.every(Boolean) ? code : 1);
  };

  cluster.on('exit', (worker, exitCode, signal) => {
    const lived = Date.now() - (bornAt.get(worker.id) ?? 0);
    bornAt.delete(worker.id);
    if (stopping) return;
    if (!listened) {
      log.error({ worker: worker.process.pid, code: exitCode, signal }, 'worker failed to start');
      void stop('worker failed to start', 1);
      return;
    }
    restartDelayMs = lived >= STEADY_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, Math.max(100, restartDelayMs * 2));
    const died = { worker: worker.process.pid, code: exitCode, signal, restartInMs: restartDelayMs };
    log.error(died, 'worker died; starting another');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, restartDelayMs);
    restarts.add(timer);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(signal, 0));

  const count = workerCount(config.GATEWAY_WORKERS);
  log.info({ workers: count }, 'starting workers');
  for (let i = 0; i < count; i++) fork();
  return new Promise<never>(() => undefined);
}
