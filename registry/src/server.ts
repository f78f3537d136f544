import { loadConfigOrExit, startOrExit } from '@lizards/lib';
import { RegistryConfig } from './config.js';
import { startRegistry } from './start-registry.js';

const config = loadConfigOrExit(RegistryConfig);
await startOrExit('registry', () => startRegistry({ config, handleSignals: true }));
