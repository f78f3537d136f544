import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { LeaseStore } from '../lease-store.js';

const TargetGroup = Type.Object({
  targets: Type.Array(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
});

export interface PrometheusSdOptions {
  store: LeaseStore;
  /** The registry's own metrics target (its admin listener, host:port), listed as service "registry". */
  self?: () => string | undefined;
}

const METRICS_PROTOCOLS = new Set(['http', 'https']);
const hostPort = (ip: string, port: string) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

/**
 * Prometheus HTTP service discovery: one target group per live HTTP instance, labelled with its service. The target
 * is the instance's admin listener (`admin_port`, plain HTTP), where /metrics is served; an instance registered
 * without one is scraped on its own port and protocol.
 */
export async function prometheusSdRoutes(app: FastifyInstance, { store, self }: PrometheusSdOptions): Promise<void> {
  app.get('/sd/prometheus', { logLevel: 'warn', schema: { response: { 200: Type.Array(TargetGroup) } } }, async () => {
    const groups = store.list().flatMap((s) =>
      s.instances
        .filter((i) => METRICS_PROTOCOLS.has(i.protocol))
        .map((i) => ({
          targets: [hostPort(i.ip_address, i.admin_port ?? i.port_number)],
          labels: {
            service: s.serviceId,
            instance_id: i.instance_id,
            instance_name: i.name,
            __scheme__: i.admin_port ? 'http' : i.protocol,
            __metrics_path__: '/metrics',
          },
        })),
    );
    const own = self?.();
    if (own)
      groups.unshift({
        targets: [own],
        labels: {
          service: 'registry',
          instance_id: 'registry',
          instance_name: 'registry',
          __scheme__: 'http',
          __metrics_path__: '/metrics',
        },
      });
    return groups;
  });
}
