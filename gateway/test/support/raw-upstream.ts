import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';
import { startGateway, type RunningGateway } from './gateway-server.js';
import { startRegistry } from './registry-server.js';

export interface RawUpstreamBehindGateway {
  gateway: RunningGateway;
  /** Closes the gateway, the upstream (dropping its connections) and the registry. */
  close(): Promise<void>;
}

/**
 * An upstream written with node:http, to answer in ways a Fastify double would not (cut bodies, slow chunks, huge
 * bodies paced by back-pressure), registered once as `provider` in a registry of its own (a lease longer than any
 * test file, as it does not heartbeat), behind a gateway configured by `gatewayEnv` that already routes to it.
 */
export async function startRawUpstreamBehindGateway(
  name: string,
  handler: RequestListener,
  gatewayEnv: Record<string, string> = {},
): Promise<RawUpstreamBehindGateway> {
  const registry = await startRegistry({ leaseTtlMs: 600_000 });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registryClient = new RegistryClient({ url: registry.url });
  await registryClient.register('provider', {
    name,
    ip_address: '127.0.0.1',
    port_number: (server.address() as AddressInfo).port,
    protocol: 'http',
  });
  await registryClient.close();
  const gateway = await startGateway({ REGISTRY_URL: registry.url, ...gatewayEnv });
  await waitFor(() => gateway.app.gateway.directory.instances('provider').length === 1, 10_000, 'the instance');
  return {
    gateway,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await registry.close();
    },
  };
}
