export { buildRegistryApp, type RegistryAppOptions } from './app.js';
export { RegistryConfig } from './config.js';
export { appOptionsFromConfig } from './config-options.js';
export { startRegistry, type StartRegistryOptions } from './start-registry.js';
