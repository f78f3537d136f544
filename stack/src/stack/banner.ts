import type { BackingService } from './backing-services.js';

/** The few lines printed once the stack is up. */
export function banner(opts: { gatewayUrl: string; registryUrl: string; backing: BackingService[]; providers: number; startedInMs: number }): string {
  const real = opts.backing.filter((b) => b.url).map((b) => b.name);
  const embedded = opts.backing.filter((b) => !b.url).map((b) => `${b.name} (${b.embedded})`);
  return [
    '',
    `Lizards is running (up in ${(opts.startedInMs / 1000).toFixed(1)} s): registry, gateway, ingestion (simulated market), ${opts.providers} providers`,
    `  dashboard  ${opts.gatewayUrl}/`,
    `  registry   ${opts.registryUrl}/services/provider`,
    `  real       ${real.length > 0 ? real.join(', ') : 'none'}`,
    `  embedded   ${embedded.length > 0 ? embedded.join(', ') : 'none'}`,
    `  try        curl ${opts.gatewayUrl}/prices/AAPL`,
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}
