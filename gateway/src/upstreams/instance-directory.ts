import type { FastifyBaseLogger } from 'fastify';
import { sleep, watchRegistry, type Instance, type RegistryWatchSource, type WatchResult } from '@lizards/lib';

/** What the directory needs of the registry (RegistryClient from @lizards/lib fits). */
export type RegistrySource = RegistryWatchSource;

export interface InstanceDirectoryOptions {
  registry: RegistrySource;
  services: string[];
  /** Blocking-query wait: changes arrive at once, and the list is re-read at least this often. */
  watchWaitMs: number;
  /** First pause before asking an unreachable registry again; it doubles on each failure in a row (up to 5 s). */
  retryMs: number;
  /**
   * After the registry was unreachable, it may come back empty (restarted) until instances heartbeat again:
   * for this long, last known instances missing from its answers are kept.
   */
  recoveryGraceMs: number;
  log: FastifyBaseLogger;
}

interface ServiceState {
  instances: Instance[];
  /** The last registry answer succeeded. */
  reachable: boolean;
  /** At least one answer has been received since start. */
  known: boolean;
  /** At least one request has ended, well or not. */
  attempted: boolean;
  /** Until then, answers are merged with the last known instances (registry recovering). */
  graceUntil: number;
  firstAnswer: Promise<void>;
  settleFirst: () => void;
}

export type MembershipListener = (serviceId: string, instances: Instance[]) => void;

/**
 * Live instances per service, kept current by a blocking-query watch loop against the registry.
 * When the registry cannot be reached the last known instances are kept (fail-static).
 */
export class InstanceDirectory {
  private readonly states = new Map<string, ServiceState>();
  private readonly listeners: MembershipListener[] = [];
  private readonly aborter = new AbortController();
  private started = false;

  constructor(private readonly opts: InstanceDirectoryOptions) {
    for (const serviceId of opts.services) {
      let settleFirst!: () => void;
      const firstAnswer = new Promise<void>((resolve) => (settleFirst = resolve));
      this.states.set(serviceId, {
        instances: [],
        reachable: false,
        known: false,
        attempted: false,
        graceUntil: 0,
        firstAnswer,
        settleFirst,
      });
    }
  }

  /** Starts one watch loop per service. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const [serviceId, state] of this.states) {
      void watchRegistry({
        source: this.opts.registry,
        serviceId,
        waitMs: this.opts.watchWaitMs,
        retryMs: this.opts.retryMs,
        signal: this.aborter.signal,
        onAnswer: (result) => this.answered(serviceId, state, result),
        onFailure: (err) => this.failed(serviceId, state, err),
      });
    }
  }

  /** Stops the loops and aborts the blocking queries in flight. */
  stop(): void {
    this.aborter.abort();
    for (const state of this.states.values()) state.settleFirst();
  }

  onChange(listener: MembershipListener): void {
    this.listeners.push(listener);
  }

  get serviceIds(): string[] {
    return [...this.states.keys()];
  }

  /** Last known instances of a service, sorted by instance id (stable for round-robin). */
  instances(serviceId: string): Instance[] {
    return this.states.get(serviceId)?.instances ?? [];
  }

  /** Whether the service has had its first registry answer (or failure): `settled` would resolve at once. */
  hasSettled(serviceId: string): boolean {
    const state = this.states.get(serviceId);
    return !state || state.attempted;
  }

  /** Resolves once the service has had its first registry answer (or failure), or after `timeoutMs`. */
  async settled(serviceId: string, timeoutMs: number): Promise<void> {
    const state = this.states.get(serviceId);
    if (!state || state.attempted) return;
    const timeout = new AbortController();
    await Promise.race([state.firstAnswer, sleep(timeoutMs, timeout.signal)]);
    timeout.abort();
  }

  /** Services whose last registry request failed: they are served from the last known instances. */
  get failStatic(): string[] {
    return [...this.states].filter(([, s]) => s.attempted && !s.reachable).map(([id]) => id);
  }

  /** Services the registry has never answered for: there is nothing to fall back on. */
  get neverResolved(): string[] {
    return [...this.states].filter(([, s]) => s.attempted && !s.reachable && !s.known).map(([id]) => id);
  }

  isFailStatic(serviceId: string): boolean {
    const state = this.states.get(serviceId);
    return state?.attempted === true && !state.reachable;
  }

  private answered(serviceId: string, state: ServiceState, result: WatchResult): void {
    if (!state.reachable && state.attempted) {
      this.opts.log.info({ serviceId }, 'registry reachable again');
      if (state.known) state.graceUntil = Date.now() + this.opts.recoveryGraceMs;
    }
    state.reachable = true;
    state.known = true;
    state.attempted = true;
    this.update(
      serviceId,
      state,
      Date.now() < state.graceUntil ? this.withLastKnown(state, result.instances) : result.instances,
    );
    state.settleFirst();
  }

  private failed(serviceId: string, state: ServiceState, err: unknown): void {
    if (state.reachable || !state.attempted) {
      this.opts.log.warn(
        { err, serviceId, kept: state.instances.length },
        'registry unreachable; serving last known instances',
      );
    }
    state.reachable = false;
    state.attempted = true;
    state.settleFirst();
  }

  /** `instances` plus the last known ones at addresses it does not list. */
  private withLastKnown(state: ServiceState, instances: Instance[]): Instance[] {
    const address = (i: Instance) => `${i.ip_address}:${i.port_number}`;
    const listed = new Set(instances.map(address));
    return [...instances, ...state.instances.filter((i) => !listed.has(address(i)))];
  }

  private update(serviceId: string, state: ServiceState, instances: Instance[]): void {
    const sorted = [...instances].sort((a, b) => a.instance_id.localeCompare(b.instance_id));
    const same =
      sorted.length === state.instances.length &&
      sorted.every((inst, i) => {
        const prev = state.instances[i]!;
        return (
          inst.instance_id === prev.instance_id &&
          inst.ip_address === prev.ip_address &&
          inst.port_number === prev.port_number
        );
      });
    if (same) return;
    state.instances = sorted;
    this.opts.log.info(
      { serviceId, instances: sorted.map((i) => `${i.ip_address}:${i.port_number}`) },
      'upstream membership changed',
    );
    for (const listener of this.listeners) listener(serviceId, sorted);
  }
}
