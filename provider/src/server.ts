import { loadConfigOrExit, startOrExit } from '@lizards/lib';
import { ProviderConfig } from './config.js';
import { startProvider } from './start-provider.js';

const config = loadConfigOrExit(ProviderConfig);
await startOrExit('provider', () => startProvider({ config, handleSignals: true }));
