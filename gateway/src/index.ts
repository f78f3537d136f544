export { buildGatewayApp, type GatewayAppDeps } from './app.js';
export { GatewayConfig } from './config.js';
export { dashboardPlugin } from './dashboard/dashboard-plugin.js';
export { startGateway, GATEWAY_SERVICE_ID, type StartGatewayOptions } from './start-gateway.js';
