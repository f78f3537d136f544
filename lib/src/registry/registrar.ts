import type { FastifyBaseLogger } from 'fastify';
import type { Protocol } from './registry-contract.js';
import type { RegistryClient } from './registry-client.js';

export interface Registration {
  serviceId: string;
  name: string;
  ipAddress: string;
  port: number;
  protocol: Protocol;
  /** Port of the instance's admin listener (/metrics), for Prometheus discovery. */
  adminPort?: number;
}

interface Held extends Registration {
  instanceId?: string;
}

/** Keeps a set of registrations alive: registers, heartbeats, re-registers after eviction or a registry restart. */
export class Registrar {
  private readonly held: Held[];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private unreachable = false;

  constructor(
    private readonly client: RegistryClient,
    registrations: Registration[],
    private readonly intervalMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    this.held = registrations.map((r) => ({ ...r }));
  }

  /** Instance ids per service id, once registered. */
  get instanceIds(): Record<string, string | undefined> {
    return Object.fromEntries(this.held.map((h) => [h.serviceId, h.instanceId]));
  }

  get registered(): boolean {
    return this.held.every((h) => h.instanceId !== undefined);
  }

  /** First registration attempt, then heartbeats on the interval; a registry that is down is retried each tick. */
  async start(): Promise<void> {
    this.ticking = this.tick().finally(() => (this.ticking = undefined));
    await this.ticking;
    if (this.stopped) return;
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops heartbeating and deregisters every instance (best effort). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    await Promise.all(
      this.held.map(async (h) => {
        if (!h.instanceId) return;
        try {
          await this.client.deregister(h.serviceId, h.instanceId);
          this.log.info({ serviceId: h.serviceId, instanceId: h.instanceId }, 'deregistered');
        } catch (err) {
          this.log.warn({ err, serviceId: h.serviceId }, 'deregister failed');
        }
        h.instanceId = undefined;
      }),
    );
  }

  private async tick(): Promise<void> {
    await Promise.all(this.held.map((h) => this.keepAlive(h)));
  }

  private async keepAlive(h: Held): Promise<void> {
    if (this.stopped) return;
    try {
      if (!h.instanceId || !(await this.client.heartbeat(h.serviceId, h.instanceId))) await this.register(h);
    } catch (err) {
      // Said once per outage, not on every heartbeat.
      if (!this.unreachable)
        this.log.warn(
          { serviceId: h.serviceId, reason: (err as Error).message },
          'registry unreachable; retrying every heartbeat',
        );
      this.unreachable = true;
      return;
    }
    if (this.unreachable) this.log.info('registry reachable again');
    this.unreachable = false;
  }

  private async register(h: Held): Promise<void> {
    if (h.instanceId)
      this.log.warn({ serviceId: h.serviceId, instanceId: h.instanceId }, 'lease lost; registering again');
    const instance = await this.client.register(h.serviceId, {
      name: h.name,
      ip_address: h.ipAddress,
      port_number: h.port,
      protocol: h.protocol,
      ...(h.adminPort ? { admin_port: h.adminPort } : {}),
    });
    if (this.stopped) {
      await this.client.deregister(h.serviceId, instance.instance_id).catch(() => false);
      return;
    }
    h.instanceId = instance.instance_id;
    this.log.info(
      { serviceId: h.serviceId, instanceId: h.instanceId, address: `${h.ipAddress}:${h.port}` },
      'registered',
    );
  }
}
