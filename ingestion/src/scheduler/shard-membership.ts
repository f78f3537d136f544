import type { FastifyBaseLogger } from 'fastify';
import { watchRegistry, type RegistryWatchSource } from '@lizards/lib';
import { rendezvousOwner } from './rendezvous.js';

/** Which symbols this instance polls. */
export interface ShardFilter {
  owns(symbol: string): boolean;
}

/** A single instance polls everything. */
export const ownEverything: ShardFilter = { owns: () => true };

export interface RegistryShardOptions {
  client: RegistryWatchSource;
  /** Registry service id of the pollers (`ingestion`). */
  serviceId: string;
  /** This instance's id in the registry; undefined until registered. */
  selfId: () => string | undefined;
  /** How long one blocking query waits for a change. */
  watchWaitMs?: number;
  /** First pause after a failed watch; it doubles on each failure in a row (up to 5 s). */
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
  private aborter: AbortController | undefined;
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
    if (this.aborter) return;
    this.aborter = new AbortController();
    void watchRegistry({
      source: this.opts.client,
      serviceId: this.opts.serviceId,
      waitMs: this.opts.watchWaitMs ?? 30_000,
      retryMs: this.opts.retryMs ?? 1000,
      signal: this.aborter.signal,
      onAnswer: (result) => this.update(result.instances.map((i) => i.instance_id).sort()),
      // Said once per outage, not once per retry.
      onFailure: (err, failures) => {
        if (failures === 1) this.opts.log.warn({ err }, 'registry watch failed; keeping the last membership');
      },
    });
  }

  /** Stops watching and aborts the blocking query in flight. */
  stop(): void {
    this.aborter?.abort();
  }

  private update(members: string[]): void {
    if (members.join(',') === this.members.join(',')) return;
    this.members = members;
    this.opts.log.info({ service: this.opts.serviceId, members }, 'shard membership changed');
    for (const l of this.listeners) l(members);
  }
}
