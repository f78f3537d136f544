import dns, { type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Instance } from '@lizards/lib';
import { UpstreamAddressRefusedError } from '@lizards/lib';
import { familyOf } from '../net/cidr.js';
import type { AddressAllowList } from './address-allow-list.js';

/** Every gateway route is HTTP (REST or a WebSocket upgrade). */
const HTTP_PROTOCOLS = new Set(['http', 'https']);

export type RefusalReason = 'protocol' | 'address' | 'resolved_address';

/** Identifies a registration: a refusal is reported again only for a new one. */
const registrationKey = (serviceId: string, i: Instance) =>
  `${serviceId}/${i.instance_id}@${i.ip_address}:${i.port_number}/${i.protocol.toLowerCase()}`;
const hostKey = (serviceId: string, host: string) => `${serviceId}/${host}`;

/**
 * Which registered instances the gateway may contact: HTTP ones whose address is inside UPSTREAM_ALLOW. An IP
 * literal is checked when membership changes; a host name is checked in the lookup of each new connection, which
 * hands the connection the checked addresses only (no second resolution it could be rebound in). Each refusal is
 * logged once and counted.
 */
export class UpstreamAdmission {
  /** Refusals already reported (key: what was refused), each with the registration or host it belongs to. */
  private readonly reported = new Map<string, string>();
  private readonly counts = new Map<string, { serviceId: string; reason: RefusalReason; count: number }>();

  constructor(
    private readonly allow: AddressAllowList,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Whether the instance may be routed to (a host name is admitted here and checked at connect). */
  admits(serviceId: string, instance: Instance): boolean {
    const host = instance.ip_address;
    const reason: RefusalReason | undefined = !HTTP_PROTOCOLS.has(instance.protocol.toLowerCase())
      ? 'protocol'
      : familyOf(host.split('%')[0]!) !== undefined && !this.allow.allows(host)
        ? 'address'
        : undefined;
    if (!reason) return true;
    const key = registrationKey(serviceId, instance);
    if (this.firstReport(key, key, serviceId, reason)) {
      this.log.warn(
        {
          serviceId,
          instanceId: instance.instance_id,
          address: host,
          port: instance.port_number,
          protocol: instance.protocol,
          reason,
        },
        'upstream instance refused: never contacted (UPSTREAM_ALLOW / protocol)',
      );
    }
    return false;
  }

  /** The DNS lookup for connections to the instances of a service: only allowed addresses come out of it. */
  lookupFor(serviceId: string): LookupFunction {
    return (hostname, options, callback) => {
      // Looked up on the module at call time (not bound at import), as net.connect itself does.
      dns.lookup(hostname, { ...options, all: true }, (err, resolved: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const allowed = resolved.filter((a) => this.allow.allows(a.address));
        const refused = resolved.filter((a) => !allowed.includes(a)).map((a) => a.address);
        if (
          refused.length > 0 &&
          this.firstReport(
            `${hostKey(serviceId, hostname)}=${refused.join(',')}`,
            hostKey(serviceId, hostname),
            serviceId,
            'resolved_address',
          )
        ) {
          this.log.warn(
            { serviceId, host: hostname, addresses: refused },
            'upstream address refused: never contacted (UPSTREAM_ALLOW)',
          );
        }
        const first = allowed[0];
        if (!first) return callback(new UpstreamAddressRefusedError(hostname), '', 0);
        if (options.all) return callback(null, allowed);
        callback(null, first.address, first.family);
      });
    };
  }

  /** Forgets the refusals of instances that left, so one registered again is reported again. */
  retain(live: { serviceId: string; instance: Instance }[]): void {
    const owners = new Set(
      live.flatMap(({ serviceId, instance }) => [
        registrationKey(serviceId, instance),
        hostKey(serviceId, instance.ip_address),
      ]),
    );
    for (const [key, owner] of this.reported) if (!owners.has(owner)) this.reported.delete(key);
  }

  /** Refusals so far, per service and reason (for gateway_upstream_refused_total). */
  refusals(): { serviceId: string; reason: RefusalReason; count: number }[] {
    return [...this.counts.values()];
  }

  /** Records a refusal; true when it was not reported before (then it is counted, and the caller logs it). */
  private firstReport(key: string, owner: string, serviceId: string, reason: RefusalReason): boolean {
    if (this.reported.has(key)) return false;
    this.reported.set(key, owner);
    const countKey = `${serviceId}\0${reason}`;
    const entry = this.counts.get(countKey) ?? { serviceId, reason, count: 0 };
    entry.count += 1;
    this.counts.set(countKey, entry);
    return true;
  }
}
