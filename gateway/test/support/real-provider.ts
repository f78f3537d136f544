import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startService, waitFor, type ServiceProcess } from '@lizards/testkit';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const providerServer = `${root}provider/dist/server.js`;

/** The real provider as a process, run from its built output (`npx tsc -b` first). */
export interface RealProvider {
  process: ServiceProcess;
  /** `host:port` it registered. */
  address: string;
  /**
   * The sum of a series' lines in the provider's Prometheus metrics: the one place that knows where they are served.
   */
  metric(name: string): Promise<number>;
  /** The token of a fresh session, asked of the provider directly (`POST /session`). */
  sessionToken(): Promise<string>;
}

/**
 * Starts the provider (embedded PGlite and bus unless `env` says otherwise) and waits until it has registered: up to
 * two minutes, as PGlite's start alone took 80 s on the shared 2-core machine under load.
 */
export async function startRealProvider(registryUrl: string, env: Record<string, string> = {}): Promise<RealProvider> {
  if (!existsSync(providerServer)) throw new Error('run `npx tsc -b` first: no provider/dist/server.js');
  const process = startService('provider', providerServer, root, {
    PORT: '0',
    LOG_LEVEL: 'warn',
    REGISTRY_URL: registryUrl,
    HEARTBEAT_INTERVAL_MS: '200',
    ...env,
  });
  const address = await waitFor(
    async () => {
      const res = await request(`${registryUrl}/services/provider`);
      if (res.statusCode !== 200) return void (await res.body.dump());
      const instance = ((await res.body.json()) as { instances: { ip_address: string; port_number: string }[] })
        .instances[0];
      return instance && `${instance.ip_address}:${instance.port_number}`;
    },
    120_000,
    'the provider to register',
    100,
    () =>
      process.child.exitCode === null
        ? undefined
        : `the provider exited (${process.child.exitCode}): ${process.stderr()}`,
  );
  return {
    process,
    address,
    async metric(name) {
      const text = await (await request(`http://${address}/metrics`)).body.text();
      return text
        .split('\n')
        .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    },
    async sessionToken() {
      const res = await request(`http://${address}/session`, { method: 'POST' });
      const { websocket_url } = (await res.body.json()) as { websocket_url: string };
      return new URL(websocket_url).searchParams.get('token')!;
    },
  };
}
