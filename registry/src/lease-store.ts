import { randomUUID } from 'node:crypto';
import { canonicalProtocol, type Instance, type RegistrationBody } from '@lizards/lib';
import type { RegistryLimits } from './registry-limits.js';

interface Lease {
  instance: Instance;
  expiresAt: number;
}

interface ServiceEntry {
  registeredAt: string;
  leases: Map<string, Lease>;
  modifyIndex: number;
}

export interface ServiceSnapshot {
  serviceId: string;
  registeredAt: string;
  index: number;
  instances: Instance[];
}

/** Why a registration was refused: the registry is at its cap of services, or the service at its cap of instances. */
export type RegisterRefusal = { refused: 'services' | 'instances'; limit: number };

interface Tombstone {
  index: number;
  at: number;
}

type Waiter = () => void;

const addressKey = (b: { ip_address: string; port_number: string; protocol: string }) =>
  `${b.ip_address.toLowerCase()}|${b.port_number}|${b.protocol}`;

export interface LeaseStoreOptions {
  ttlMs: number;
  limits: Pick<RegistryLimits, 'maxServices' | 'maxInstancesPerService' | 'maxTombstones' | 'tombstoneTtlMs'>;
  now?: () => number;
}

/** Instances by service with heartbeat leases, a change index per service, and waiters for blocking queries. */
export class LeaseStore {
  private readonly services = new Map<string, ServiceEntry>();
  /**
   * Last change index of services that no longer have instances, so a watcher of a vanished service is answered;
   * in the order they were made, which is also index order.
   */
  private readonly tombstones = new Map<string, Tombstone>();
  /**
   * The highest index of a pruned tombstone: the index of every service the store knows nothing about, so that a
   * watcher whose index predates a pruned deletion is still answered at once (as Consul does after reaping tombstones).
   */
  private reapedIndex = 0;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private index = 0;
  private readonly ttlMs: number;
  private readonly limits: LeaseStoreOptions['limits'];
  private readonly now: () => number;

  constructor(opts: LeaseStoreOptions) {
    this.ttlMs = opts.ttlMs;
    this.limits = opts.limits;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Registers an instance, or refreshes the lease of the one already at that address; a new instance beyond the
   * caps is refused.
   */
  register(serviceId: string, body: RegistrationBody): { instance: Instance; created: boolean } | RegisterRefusal {
    const now = this.now();
    const stamp = new Date(now).toISOString();
    const port = String(body.port_number);
    const protocol = canonicalProtocol(body.protocol) ?? body.protocol;
    const adminPort = body.admin_port === undefined ? {} : { admin_port: String(body.admin_port) };
    const key = addressKey({ ip_address: body.ip_address, port_number: port, protocol });
    let service = this.services.get(serviceId);
    if (service) {
      for (const lease of service.leases.values()) {
        if (addressKey(lease.instance) === key) {
          lease.expiresAt = now + this.ttlMs;
          const instance: Instance = {
            ...lease.instance,
            name: body.name,
            last_heartbeat: stamp,
            lease_expires_at: new Date(lease.expiresAt).toISOString(),
          };
          // A restarted instance on the same port may come back with another admin port (ADMIN_PORT=0), or none.
          delete instance.admin_port;
          lease.instance = { ...instance, ...adminPort };
          return { instance: lease.instance, created: false };
        }
      }
      if (service.leases.size >= this.limits.maxInstancesPerService)
        return { refused: 'instances', limit: this.limits.maxInstancesPerService };
    } else {
      if (this.services.size >= this.limits.maxServices) return { refused: 'services', limit: this.limits.maxServices };
      service = { registeredAt: stamp, leases: new Map(), modifyIndex: 0 };
      this.services.set(serviceId, service);
      this.tombstones.delete(serviceId);
    }
    const expiresAt = now + this.ttlMs;
    const instance: Instance = {
      instance_id: randomUUID(),
      service_id: serviceId,
      name: body.name,
      ip_address: body.ip_address,
      port_number: port,
      protocol,
      ...adminPort,
      registered_at: stamp,
      last_heartbeat: stamp,
      lease_expires_at: new Date(expiresAt).toISOString(),
    };
    service.leases.set(instance.instance_id, { instance, expiresAt });
    this.changed(serviceId, service);
    return { instance, created: true };
  }

  /** Renews a lease; undefined when the instance is unknown (evicted or never registered). */
  heartbeat(serviceId: string, instanceId: string): Instance | undefined {
    const lease = this.services.get(serviceId)?.leases.get(instanceId);
    if (!lease) return undefined;
    const now = this.now();
    lease.expiresAt = now + this.ttlMs;
    lease.instance = {
      ...lease.instance,
      last_heartbeat: new Date(now).toISOString(),
      lease_expires_at: new Date(lease.expiresAt).toISOString(),
    };
    return lease.instance;
  }

  /** Removes an instance; false when it is unknown. */
  deregister(serviceId: string, instanceId: string): boolean {
    const service = this.services.get(serviceId);
    if (!service?.leases.delete(instanceId)) return false;
    this.changed(serviceId, service);
    return true;
  }

  /** Removes every instance whose lease has run out and returns them. */
  evictExpired(): Instance[] {
    const now = this.now();
    const evicted: Instance[] = [];
    for (const [serviceId, service] of this.services) {
      let removed = false;
      for (const [id, lease] of service.leases) {
        if (lease.expiresAt <= now) {
          service.leases.delete(id);
          evicted.push(lease.instance);
          removed = true;
        }
      }
      if (removed) this.changed(serviceId, service);
    }
    return evicted;
  }

  get(serviceId: string): ServiceSnapshot | undefined {
    const service = this.services.get(serviceId);
    if (!service) return undefined;
    return {
      serviceId,
      registeredAt: service.registeredAt,
      index: service.modifyIndex,
      instances: [...service.leases.values()].map((l) => l.instance),
    };
  }

  /** The change index of a service (of its last change, even if it has since emptied). */
  indexOf(serviceId: string): number {
    return this.services.get(serviceId)?.modifyIndex ?? this.tombstones.get(serviceId)?.index ?? this.reapedIndex;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /** Drops tombstones older than their TTL. */
  pruneTombstones(): void {
    const oldest = this.now() - this.limits.tombstoneTtlMs;
    for (const [serviceId, tombstone] of this.tombstones) {
      if (tombstone.at > oldest) break;
      this.reap(serviceId, tombstone);
    }
  }

  list(): ServiceSnapshot[] {
    return [...this.services.keys()].map((id) => this.get(id)!);
  }

  /** Resolves when the service changes past `index`, or after `waitMs`; returns false on timeout. */
  waitForChange(serviceId: string, index: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.indexOf(serviceId) > index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const set = this.waiters.get(serviceId) ?? new Set<Waiter>();
      this.waiters.set(serviceId, set);
      const done = (changed: boolean) => {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0) this.waiters.delete(serviceId);
        signal?.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const waiter: Waiter = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), waitMs);
      set.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes every blocked watcher (on shutdown). */
  releaseWaiters(): void {
    for (const set of this.waiters.values()) for (const w of [...set]) w();
  }

  private changed(serviceId: string, service: ServiceEntry): void {
    service.modifyIndex = ++this.index;
    if (service.leases.size === 0) {
      this.services.delete(serviceId);
      this.tombstones.set(serviceId, { index: service.modifyIndex, at: this.now() });
      for (const [id, tombstone] of this.tombstones) {
        if (this.tombstones.size <= this.limits.maxTombstones) break;
        this.reap(id, tombstone);
      }
    }
    for (const w of [...(this.waiters.get(serviceId) ?? [])]) w();
  }

  private reap(serviceId: string, tombstone: Tombstone): void {
    this.tombstones.delete(serviceId);
    this.reapedIndex = Math.max(this.reapedIndex, tombstone.index);
  }
}
