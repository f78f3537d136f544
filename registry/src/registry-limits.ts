/** Caps on what the registry holds, so that no client can make it grow without bound. */
export interface RegistryLimits {
  /** Services with at least one live instance. */
  maxServices: number;
  maxInstancesPerService: number;
  /** Change indexes kept for services that emptied, for blocking queries; the oldest go first. */
  maxTombstones: number;
  tombstoneTtlMs: number;
  /** Blocking queries held open by one client address. */
  maxWatchesPerClient: number;
  /** Blocking queries held open in all (each holds a socket). */
  maxWatches: number;
}

export const DEFAULT_LIMITS: RegistryLimits = {
  maxServices: 256,
  maxInstancesPerService: 256,
  maxTombstones: 1024,
  tombstoneTtlMs: 600_000,
  maxWatchesPerClient: 32,
  maxWatches: 1024,
};
