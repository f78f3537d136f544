import { request } from 'undici';
import { RegistryClient } from '@lizards/lib';

interface Instance {
  instance_id: string;
  name?: string;
  ip_address: string;
  port_number: string;
  protocol: string;
}

/** Prints every service in the registry with its live instances. */
export async function servicesCommand(registryUrl: string, out: NodeJS.WritableStream): Promise<number> {
  const client = new RegistryClient({ url: registryUrl });
  try {
    const services = await client.listServices();
    if (services.length === 0) {
      out.write(`no services registered at ${registryUrl}\n`);
      return 0;
    }
    out.write(`registry ${registryUrl}\n`);
    for (const s of services.sort((a, b) => a.service_name.localeCompare(b.service_name))) {
      const res = await request(`${registryUrl}/services/${encodeURIComponent(s.service_name)}`);
      const instances =
        res.statusCode === 200
          ? ((await res.body.json()) as { instances: Instance[] }).instances
          : (await res.body.dump(), []);
      out.write(`\n${s.service_name}  (${instances.length} instance${instances.length === 1 ? '' : 's'})\n`);
      for (const i of instances) {
        const address = `${i.protocol === 'gRPC' ? 'grpc' : i.protocol}://${i.ip_address}:${i.port_number}`;
        out.write(`  ${address.padEnd(30)} ${(i.name ?? '').padEnd(16)} ${i.instance_id}\n`);
      }
    }
    return 0;
  } finally {
    await client.close();
  }
}
