import { loadConfigOrExit, startOrExit } from '@lizards/lib';
import { isClusterPrimary, runGatewayPrimary } from './cluster/cluster-primary.js';
import { clusterWorker } from './cluster/cluster-worker.js';
import { GatewayConfig } from './config.js';
import { startGateway } from './start-gateway.js';

const config = loadConfigOrExit(GatewayConfig);
// With GATEWAY_WORKERS > 1 this process only forks and watches the workers (and ends the process itself); each
// worker runs this file again and goes on below.
if (isClusterPrimary({ ...config, PORT: config.GATEWAY_PORT ?? config.PORT })) {
  await runGatewayPrimary({ ...config, PORT: config.GATEWAY_PORT ?? config.PORT });
}
await startOrExit('gateway', () => startGateway({ config, handleSignals: true, worker: clusterWorker() }));
