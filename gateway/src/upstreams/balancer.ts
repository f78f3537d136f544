import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Instance } from '@lizards/lib';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import type { InstanceDirectory } from './instance-directory.js';
import { UpstreamPools, type PoolOptions } from './pool.js';
import { RoundRobin } from './round-robin.js';
import type { UpstreamAdmission } from './upstream-admission.js';

/** One instance of a service as the proxy uses it. */
export interface Upstream {
  serviceId: string;
  instanceId: string;
  /** `http://host:port` or `https://host:port` */
  origin: string;
  /** `host:port`, the metric label. */
  address: string;
  dispatcher: Dispatcher;
  /** The DNS lookup every connection to it must use (only addresses inside UPSTREAM_ALLOW come out). */
  lookup: LookupFunction;
  breaker: CircuitBreaker;
}

export type PickResult =
  | { upstream: Upstream }
  | { upstream?: undefined; reason: 'no-instance' }
  | { upstream?: undefined; reason: 'all-open'; retryAfterMs: number };

function originOf(instance: Instance): string {
  const host = instance.ip_address.includes(':') ? `[${instance.ip_address}]` : instance.ip_address;
  return `${instance.protocol.toLowerCase()}://${host}:${instance.port_number}`;
}

interface ServiceUpstreams {
  /** The directory's list these entries were made from (a new list means membership changed). */
  source: Instance[];
  entries: Upstream[];
  rotation: RoundRobin<Upstream>;
}

const available = (u: Upstream) => u.breaker.available;

/** Round-robin over the healthy admitted instances of each service, with a pool and a breaker per instance. */
export class Balancer {
  private readonly pools: UpstreamPools;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly services = new Map<string, ServiceUpstreams>();

  constructor(
    private readonly directory: InstanceDirectory,
    private readonly admission: UpstreamAdmission,
    poolOptions: PoolOptions,
    private readonly breakerOptions: BreakerOptions,
  ) {
    this.pools = new UpstreamPools(poolOptions);
    directory.onChange(() => this.forgetDeparted());
  }

  /**
   * The next instance of a service in rotation whose circuit lets a request through, skipping `exclude`
   * (instance ids already tried). A half-open instance is handed out to one caller at a time, as the probe.
   */
  pick(serviceId: string, exclude?: ReadonlySet<string>): PickResult {
    const service = this.upstreamsOf(serviceId);
    const entries =
      exclude && exclude.size > 0 ? service.entries.filter((u) => !exclude.has(u.instanceId)) : service.entries;
    if (entries.length === 0) return { reason: 'no-instance' };
    const chosen = service.rotation.pick(entries, available);
    if (!chosen?.breaker.tryAcquire()) {
      const retryAfterMs = Math.min(...entries.map((u) => u.breaker.retryAfterMs));
      return { reason: 'all-open', retryAfterMs };
    }
    return { upstream: chosen };
  }

  /** Every known instance with its circuit state, for metrics and diagnostics. */
  snapshot(serviceIds: string[]): { serviceId: string; instanceId: string; address: string; state: BreakerState }[] {
    return serviceIds.flatMap((serviceId) =>
      this.upstreamsOf(serviceId).entries.map((u) => ({
        serviceId,
        instanceId: u.instanceId,
        address: u.address,
        state: u.breaker.state,
      })),
    );
  }

  async close(): Promise<void> {
    await this.pools.close();
  }

  /** The service's admitted upstreams, made once per membership change rather than per request. */
  private upstreamsOf(serviceId: string): ServiceUpstreams {
    const source = this.directory.instances(serviceId);
    let service = this.services.get(serviceId);
    if (!service) {
      service = { source, entries: this.entriesOf(serviceId, source), rotation: new RoundRobin<Upstream>() };
      this.services.set(serviceId, service);
    } else if (service.source !== source) {
      service.source = source;
      service.entries = this.entriesOf(serviceId, source);
    }
    return service;
  }

  private entriesOf(serviceId: string, instances: Instance[]): Upstream[] {
    return instances.filter((i) => this.admission.admits(serviceId, i)).map((i) => this.upstreamOf(serviceId, i));
  }

  private upstreamOf(serviceId: string, instance: Instance): Upstream {
    const origin = originOf(instance);
    const lookup = this.admission.lookupFor(serviceId);
    return {
      serviceId,
      instanceId: instance.instance_id,
      origin,
      address: `${instance.ip_address}:${instance.port_number}`,
      dispatcher: this.pools.get(origin, lookup),
      lookup,
      breaker: this.breakerOf(instance),
    };
  }

  private breakerOf(instance: Instance): CircuitBreaker {
    const key = `${instance.instance_id}@${originOf(instance)}`;
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker(this.breakerOptions);
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  private forgetDeparted(): void {
    const live = this.directory.serviceIds.flatMap((serviceId) =>
      this.directory.instances(serviceId).map((instance) => ({ serviceId, instance })),
    );
    const keys = new Set(live.map(({ instance }) => `${instance.instance_id}@${originOf(instance)}`));
    for (const key of this.breakers.keys()) if (!keys.has(key)) this.breakers.delete(key);
    this.pools.retain(live.map(({ instance }) => originOf(instance)));
    this.admission.retain(live);
  }
}
