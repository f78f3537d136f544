import { Type, type Static } from '@sinclair/typebox';

export const PROTOCOLS = ['http', 'https', 'ws', 'wss', 'gRPC', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * The canonical spelling of a protocol name given in any case (`TCP` → `tcp`, `grpc` → `gRPC`); undefined when unknown.
 */
export function canonicalProtocol(name: string): Protocol | undefined {
  const lower = name.toLowerCase();
  return PROTOCOLS.find((p) => p.toLowerCase() === lower);
}

// A JSON-schema pattern has no case-insensitive flag: every letter becomes a class of both cases.
const anyCase = (word: string) => word.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);

const PORT_STRING = '^(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';
const Port = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: PORT_STRING })], { description });

export const ServiceIdParam = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description: 'service id' });

/** Body of POST /services/:service-id. */
export const RegistrationBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '\\S' }),
  ip_address: Type.Union(
    [
      Type.String({ format: 'ipv4' }),
      Type.String({ format: 'ipv6' }),
      // a dotted all-numeric string is a malformed IPv4 address, not a host name
      Type.String({ format: 'hostname', maxLength: 253, pattern: '^(?![0-9.]*\\.[0-9.]*$)' }),
    ],
    { description: 'IPv4, IPv6 or host name' },
  ),
  port_number: Port('port 1-65535, as a number or a numeric string'),
  protocol: Type.String({
    pattern: `^(?:${PROTOCOLS.map(anyCase).join('|')})$`,
    description: `one of ${PROTOCOLS.join(', ')}, in any case`,
  }),
  /** Where the instance serves /metrics and /ready (same address, plain HTTP); Prometheus SD scrapes it there. */
  admin_port: Type.Optional(Port('admin port 1-65535, as a number or a numeric string')),
});
export type RegistrationBody = Static<typeof RegistrationBody>;

/** One registered instance as the registry returns it; port_number is a string, as in the specification. */
export const Instance = Type.Object({
  instance_id: Type.String(),
  service_id: Type.String(),
  name: Type.String(),
  ip_address: Type.String(),
  port_number: Type.String(),
  protocol: Type.String(),
  admin_port: Type.Optional(Type.String()),
  registered_at: Type.String({ format: 'date-time' }),
  last_heartbeat: Type.String({ format: 'date-time' }),
  lease_expires_at: Type.String({ format: 'date-time' }),
});
export type Instance = Static<typeof Instance>;

export const ServiceView = Type.Object({
  service_name: Type.String(),
  instance_count: Type.Integer(),
  registered_at: Type.String({ format: 'date-time' }),
  instances: Type.Array(Instance),
});
export type ServiceView = Static<typeof ServiceView>;

export const ServiceList = Type.Object({
  services: Type.Array(
    Type.Object({ service_name: Type.String(), instance_count: Type.Integer(), registered_at: Type.String() }),
  ),
});
export type ServiceList = Static<typeof ServiceList>;

/** Header carrying the registry's change index, for blocking queries (`?index=N&wait=30s`). */
export const REGISTRY_INDEX_HEADER = 'x-registry-index';
