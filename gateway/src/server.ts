import { RegistryClient, loadConfigOrExit, loggerOptions, runService } from '@lizards/lib';
import { buildGatewayApp } from './app.js';
import { GatewayConfig } from './config.js';
import { dashboardPlugin } from './dashboard/dashboard-plugin.js';
import { createRedisConnection } from './redis/redis-connection.js';

const loaded = loadConfigOrExit(GatewayConfig);
const config = { ...loaded, PORT: loaded.GATEWAY_PORT ?? loaded.PORT };
const logger = loggerOptions({ level: config.LOG_LEVEL, service: 'gateway' });
const registry = new RegistryClient({ url: config.REGISTRY_URL, token: config.REGISTRY_TOKEN });
const redis = config.REDIS_URL ? createRedisConnection(config.REDIS_URL, () => app.log) : undefined;
let app: ReturnType<typeof buildGatewayApp>;
try {
  app = buildGatewayApp({ config, registry, redis, logger, site: dashboardPlugin });
} catch (err) {
  // An invalid route table or group limits: say what is wrong, as loadConfigOrExit does.
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
app.addHook('onClose', async () => {
  redis?.disconnect();
  // Stopping the directory aborts its blocking queries, so the registry pool closes at once.
  app.gateway.directory.stop();
  await registry.close().catch(() => undefined);
});
const { url } = await runService({ app, config, serviceId: 'gateway' });
app.log.info({ url, redis: Boolean(redis), routes: app.gateway.routes.map((r) => r.path) }, 'gateway ready');
