import type { FastifyBaseLogger } from 'fastify';
import type { RegistryClient } from '@lizards/lib';
import { rendezvousOwner } from './rendezvous.js';

/** Which symbols this instance polls. */
export interface ShardFilter {
  owns(symbol: string): boolean;
}

/** A single instance polls everything. */
export const ownEverything: ShardFilter = { owns: () => true };

export interface RegistryShardOptions {
  client: RegistryClient;
  /** Registry service id of the pollers (`ingestion`). */
  serviceId: string;
  /** This instance's id in the registry; undefined until registered. */
  selfId: () => string | undefined;
  /** How long one blocking query waits for a change. */
  watchWaitMs?: number;
  /** Pause after a failed watch. */
  retryMs?: number;
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
}

/**
 * Rendezvous hashing of symbols over the live instances of the service, kept current with the registry's
 * blocking queries. This instance always counts itself in; while it is not registered yet it owns everything,
 * so a lone instance (or one cut off from the registry from the start) never leaves a symbol unpolled.
 */
export class RegistryShard implements ShardFilter {
  private members: string[] = [];
  private running = false;
  private abortWait: (() => void) | undefined;
  private readonly cache = new Map<string, boolean>();
  private cacheKey = '';
  private readonly listeners = new Set<(members: readonly string[]) => void>();

  constructor(private readonly opts: RegistryShardOptions) {}

  /** Live instance ids last seen in the registry. */
  get liveMembers(): readonly string[] {
    return this.members;
  }

  owns(symbol: string): boolean {
    const self = this.opts.selfId();
    if (self === undefined) return true;
    const nodes = this.members.includes(self) ? this.members : [...this.members, self];
    const key = `${self}|${nodes.join(',')}`;
    if (key !== this.cacheKey) {
      this.cache.clear();
      this.cacheKey = key;
    }
    let owned = this.cache.get(symbol);
    if (owned === undefined) {
      owned = rendezvousOwner(symbol, nodes) === self;
      this.cache.set(symbol, owned);
    }
    return owned;
  }

  onChange(listener: (members: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.watchLoop();
  }

  /** Stops watching; a blocking query already in flight is left to end on its own (it holds nothing). */
  stop(): void {
    this.running = false;
    this.abortWait?.();
  }

  private async watchLoop(): Promise<void> {
    let index = 0;
    let failures = 0;
    while (this.running) {
      try {
        const result = await this.opts.client.watch(this.opts.serviceId, index, index === 0 ? 0 : (this.opts.watchWaitMs ?? 30_000));
        if (!this.running) return;
        // A registry that restarted starts counting again: follow it down.
        index = result.index < index ? 0 : result.index;
        failures = 0;
        this.update(result.instances.map((i) => i.instance_id).sort());
        if (index === 0) await this.pause(this.opts.retryMs ?? 1000);
      } catch (err) {
        if (!this.running) return;
        // Said once per outage, not once per retry.
        if (failures++ === 0) this.opts.log.warn({ err }, 'registry watch failed; keeping the last membership');
        index = 0;
        await this.pause(this.opts.retryMs ?? 1000);
      }
    }
  }

  private update(members: string[]): void {
    if (members.join(',') === this.members.join(',')) return;
    this.members = members;
    this.opts.log.info({ service: this.opts.serviceId, members }, 'shard membership changed');
    for (const l of this.listeners) l(members);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abortWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
