/** Collapses concurrent calls for one key into a single execution whose result every caller shares. */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Runs `work` unless a call for `key` is already running; `leader` tells whether this caller ran it. */
  async run(key: string, work: () => Promise<T>): Promise<{ value: T; leader: boolean }> {
    const running = this.inFlight.get(key);
    if (running) return { value: await running, leader: false };
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return { value: await promise, leader: true };
  }
}
