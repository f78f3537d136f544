export { buildProviderApp, type ProviderAppOptions, type ProviderTopology } from './app.js';
export { ProviderConfig } from './config.js';
export { appOptionsFromConfig, retentionFromConfig } from './config-options.js';
export {
  startProvider,
  PROVIDER_SERVICE_ID,
  type ProviderService,
  type StartProviderOptions,
} from './start-provider.js';
export { openPriceStore } from './store/open-price-store.js';
export type { PriceStore } from './store/price-repository.js';
