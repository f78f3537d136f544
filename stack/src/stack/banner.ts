import type { BackingService } from './backing-services.js';

/** The few lines printed once the stack is up. */
export function banner(opts: {
  gatewayUrl: string;
  registryUrl: string;
  /** The registry token made for this run, printed so that writes by hand work; undefined when the user gave one. */
  madeRegistryToken: string | undefined;
  /**
   * gRPC ProcessData; the token is printed only when this run made it (a token from the environment stays unprinted).
   */
  ingest: { address: string; token: string; generated: boolean };
  backing: BackingService[];
  providers: number;
  startedInMs: number;
}): string {
  const real = opts.backing.filter((b) => b.url).map((b) => b.name);
  const embedded = opts.backing.filter((b) => !b.url).map((b) => `${b.name} (${b.embedded})`);
  // Only tokens this run made are printed: one from the environment is the user's and stays unprinted.
  const made = [
    ...(opts.madeRegistryToken ? [`REGISTRY_TOKEN=${opts.madeRegistryToken}`] : []),
    ...(opts.ingest.generated ? [`INGEST_TOKEN=${opts.ingest.token}`] : []),
  ];
  return [
    '',
    `Lizards is running (up in ${(opts.startedInMs / 1000).toFixed(1)} s): ` +
      `registry, gateway, ingestion (simulated market), ${opts.providers} providers`,
    `  dashboard  ${opts.gatewayUrl}/`,
    `  registry   ${opts.registryUrl}/services/provider (writes need -H "Authorization: Bearer $REGISTRY_TOKEN")`,
    `  ingest     grpc://${opts.ingest.address} (calls need the metadata authorization: Bearer $INGEST_TOKEN)`,
    `  metrics    ${opts.registryUrl}/sd/prometheus  (each part's /ready and /metrics, on its admin port)`,
    ...(made.length > 0 ? [`  export     ${made.join(' ')}`] : []),
    `  real       ${real.length > 0 ? real.join(', ') : 'none'}`,
    `  embedded   ${embedded.length > 0 ? embedded.join(', ') : 'none'}`,
    `  try        curl ${opts.gatewayUrl}/prices/AAPL`,
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}
