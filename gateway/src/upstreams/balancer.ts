import type { Dispatcher } from 'undici';
import type { Instance } from '@lizards/lib';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import type { InstanceDirectory } from './instance-directory.js';
import { UpstreamPools, type PoolOptions } from './pool.js';
import { RoundRobin } from './round-robin.js';

/** One instance of a service as the proxy uses it. */
export interface Upstream {
  serviceId: string;
  instanceId: string;
  /** `http://host:port` */
  origin: string;
  /** `host:port`, the metric label. */
  address: string;
  dispatcher: Dispatcher;
  breaker: CircuitBreaker;
}

export type PickResult =
  | { upstream: Upstream }
  | { upstream?: undefined; reason: 'no-instance' }
  | { upstream?: undefined; reason: 'all-open'; retryAfterMs: number };

function originOf(instance: Instance): string {
  const host = instance.ip_address.includes(':') ? `[${instance.ip_address}]` : instance.ip_address;
  return `http://${host}:${instance.port_number}`;
}

/** Round-robin over the healthy instances of each service, with a pool and a breaker per instance. */
export class Balancer {
  private readonly pools: UpstreamPools;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly rotations = new Map<string, RoundRobin<Instance>>();

  constructor(
    private readonly directory: InstanceDirectory,
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
  pick(serviceId: string, exclude: ReadonlySet<string> = new Set()): PickResult {
    const instances = this.directory.instances(serviceId).filter((i) => !exclude.has(i.instance_id));
    if (instances.length === 0) return { reason: 'no-instance' };
    const rotation = this.rotations.get(serviceId) ?? new RoundRobin<Instance>();
    this.rotations.set(serviceId, rotation);
    const chosen = rotation.pick(instances, (i) => this.breakerOf(i).available);
    if (!chosen || !this.breakerOf(chosen).tryAcquire()) {
      const retryAfterMs = Math.min(...instances.map((i) => this.breakerOf(i).retryAfterMs));
      return { reason: 'all-open', retryAfterMs };
    }
    return { upstream: this.upstreamOf(serviceId, chosen) };
  }

  /** Every known instance with its circuit state, for metrics and diagnostics. */
  snapshot(serviceIds: string[]): { serviceId: string; instanceId: string; address: string; state: BreakerState }[] {
    return serviceIds.flatMap((serviceId) =>
      this.directory.instances(serviceId).map((i) => ({
        serviceId,
        instanceId: i.instance_id,
        address: `${i.ip_address}:${i.port_number}`,
        state: this.breakerOf(i).state,
      })),
    );
  }

  async close(): Promise<void> {
    await this.pools.close();
  }

  private upstreamOf(serviceId: string, instance: Instance): Upstream {
    const origin = originOf(instance);
    return {
      serviceId,
      instanceId: instance.instance_id,
      origin,
      address: `${instance.ip_address}:${instance.port_number}`,
      dispatcher: this.pools.get(origin),
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
    const live = this.liveInstances();
    const keys = new Set(live.map((i) => `${i.instance_id}@${originOf(i)}`));
    for (const key of this.breakers.keys()) if (!keys.has(key)) this.breakers.delete(key);
    this.pools.retain(live.map(originOf));
  }

  private liveInstances(): Instance[] {
    return this.directory.serviceIds.flatMap((id) => this.directory.instances(id));
  }
}
