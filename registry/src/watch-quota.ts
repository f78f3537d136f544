/** Counts the blocking queries held open, per client address and in all, against their caps. */
export class WatchQuota {
  private readonly byClient = new Map<string, number>();
  private total = 0;

  constructor(
    readonly perClient: number,
    readonly max: number,
  ) {}

  /** Blocking queries held open now. */
  get size(): number {
    return this.total;
  }

  /** Takes a slot for `client`, or tells which cap is reached. */
  tryAcquire(client: string): 'ok' | 'client-limit' | 'total-limit' {
    const held = this.byClient.get(client) ?? 0;
    if (held >= this.perClient) return 'client-limit';
    if (this.total >= this.max) return 'total-limit';
    this.byClient.set(client, held + 1);
    this.total++;
    return 'ok';
  }

  release(client: string): void {
    const held = this.byClient.get(client) ?? 0;
    if (held <= 1) this.byClient.delete(client);
    else this.byClient.set(client, held - 1);
    this.total--;
  }
}
