import cluster from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import { createMetricsRegistry } from '@lizards/lib';
import { isGatewayMessage, type ListeningMessage, type ScrapeRequest } from './cluster-messages.js';

const SCRAPE_TIMEOUT_MS = 5000;

/**
 * A worker's metrics registry. It holds this worker's series, which prom-client hands to the primary when asked;
 * a scrape of it (`metrics()`, what /metrics serves) asks the primary for every worker's series aggregated, so a
 * scrape answers the same whichever worker the connection landed on.
 */
class WorkerMetricsRegistry extends AggregatorRegistry<PrometheusContentType> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();

  constructor() {
    super();
    AggregatorRegistry.setRegistries([this]);
    process.on('message', (message: unknown) => {
      if (!isGatewayMessage(message) || message.type !== 'lz:gateway:scraped') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`cluster scrape failed: ${message.error}`));
      else waiter?.resolve(message.text ?? '');
    });
  }

  override metrics(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('cluster scrape timed out'));
      }, SCRAPE_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (text: string) => (clearTimeout(timer), resolve(text)),
        reject: (err: Error) => (clearTimeout(timer), reject(err)),
      });
      process.send!({ type: 'lz:gateway:scrape', id } satisfies ScrapeRequest);
    });
  }
}

export interface ClusterWorker {
  /** The registry to build the gateway with (its /metrics answers with the whole cluster's series). */
  metricsRegistry: AggregatorRegistry<PrometheusContentType>;
  /** Tells the primary the ports are listening (it registers the gateway, once for all workers). */
  listening(port: number, adminPort: number): void;
}

/** This process's part in a gateway cluster when it is a worker (GATEWAY_WORKERS > 1); undefined otherwise. */
export function clusterWorker(): ClusterWorker | undefined {
  if (!cluster.isWorker) return undefined;
  // A worker whose primary is gone has no one to restart or deregister it: it drains and exits (unless a signal has
  // already started that, when runService's handler is spent and a second SIGTERM would kill it outright).
  process.once('disconnect', () => {
    if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
  });
  return {
    metricsRegistry: createMetricsRegistry('gateway', new WorkerMetricsRegistry()),
    listening: (port, adminPort) => {
      process.send!({ type: 'lz:gateway:listening', port, adminPort } satisfies ListeningMessage);
    },
  };
}
