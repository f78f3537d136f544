export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures (connection errors, timeouts, 5xx) that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses requests before letting one probe through. */
  coolOffMs: number;
  now?: () => number;
}

/**
 * Passive health of one upstream instance: closed (in rotation), open (skipped for a cool-off),
 * then half-open, where exactly one request probes it and its outcome closes or reopens the circuit.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.opts.coolOffMs ? 'half-open' : 'open';
  }

  /** Whether a request could be sent now (no side effect). */
  get available(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.probing);
  }

  /** Claims the right to send a request; in half-open state only the first caller gets it (the probe). */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when it would now). */
  get retryAfterMs(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(0, this.openedAt + this.opts.coolOffMs - this.now());
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  failure(): void {
    this.failures += 1;
    if (this.probing || this.failures >= this.opts.failureThreshold) this.openedAt = this.now();
    this.probing = false;
  }
}
