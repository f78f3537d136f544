import { request } from 'undici';
import { prng } from '../fuzz.js';

export interface RestTally {
  ok: number;
  /** 503 with Retry-After: allowed while an upstream is down. */
  unavailable: number;
  /** Other answers under 500 (a 404 for a symbol not stored yet, ...). */
  other: number;
  /** Refused or reset connections to a gateway that was down at the time. */
  gatewayDown: number;
  violations: string[];
}

/**
 * REST readers through the gateways: latest prices, history pages and candles at random, one request at a time each.
 * Any 5xx but a 503 with Retry-After is a violation, as is a failed connection to a gateway that was up.
 */
export class RestReaders {
  readonly tally: RestTally = { ok: 0, unavailable: 0, other: 0, gatewayDown: 0, violations: [] };
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly opts: {
      seed: number;
      readers: number;
      symbols: readonly string[];
      /** Each gateway's URL, and whether it is up (neither killed nor restarting). */
      gateways: () => { url: string; up: () => boolean }[];
      elapsed: () => number;
    },
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.opts.readers }, (_, i) => this.loop(prng(this.opts.seed * 31 + i)));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(rand: () => number): Promise<void> {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    while (this.running) {
      const gateway = pick(this.opts.gateways());
      const symbol = pick(this.opts.symbols);
      const path = pick([
        `/prices/${symbol}`,
        `/prices/${symbol}/history?limit=${1 + Math.floor(rand() * 200)}`,
        `/prices/${symbol}/candles?interval=${pick(['1m', '5m', '1h'])}`,
      ]);
      const upBefore = gateway.up();
      try {
        const res = await request(`${gateway.url}${path}`, { headersTimeout: 15_000, bodyTimeout: 15_000 });
        const body = await res.body.text();
        if (res.statusCode < 300) this.tally.ok++;
        else if (res.statusCode === 503 && res.headers['retry-after'] !== undefined) this.tally.unavailable++;
        else if (res.statusCode < 500) this.tally.other++;
        else
          this.tally.violations.push(
            `${(this.opts.elapsed() / 1000).toFixed(1)}s GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`,
          );
      } catch (err) {
        if (!upBefore || !gateway.up()) this.tally.gatewayDown++;
        else
          this.tally.violations.push(
            `${(this.opts.elapsed() / 1000).toFixed(1)}s GET ${path}: ${(err as Error).message}`,
          );
      }
      await new Promise((r) => setTimeout(r, 20 + rand() * 80));
    }
  }
}
