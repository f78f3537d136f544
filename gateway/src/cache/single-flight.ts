/** Collapses concurrent calls for one key into a single execution whose result callers share when they may. */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /**
   * Runs `work` unless a call for `key` is already running; then waits for that call and takes its result if
   * `shareable` allows it, or else runs `work` itself. `shared` tells whether the value came from another caller's run.
   */
  async run(
    key: string,
    work: () => Promise<T>,
    shareable: (value: T) => boolean,
  ): Promise<{ value: T; shared: boolean }> {
    const running = this.inFlight.get(key);
    if (running) {
      const value = await running;
      return shareable(value) ? { value, shared: true } : { value: await work(), shared: false };
    }
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return { value: await promise, shared: false };
  }
}
