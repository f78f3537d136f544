import type { FastifyBaseLogger } from 'fastify';
import { withDeadline } from '@lizards/lib';
import type { PriceRepository } from '../store/price-repository.js';
import { type ProvisionalTick, tickKey } from './provisional-ticks.js';

export interface StoredCheckOptions {
  repository: Pick<PriceRepository, 'whichStored'>;
  /** Longest wait for the store's answer. */
  timeoutMs: number;
  log: FastifyBaseLogger;
}

/**
 * Asks the store which ticks due for a provisional push it already has. A copy published again after its commit
 * (ingestion's outbox after a broker outage, a redelivery) is never seen committed by an instance that started
 * after the commit, so it falls due; pushed, it would take clients back to an old price. The store is asked once
 * at a time and for at most `timeoutMs`: when it does not answer (it is down, which is why ticks fall due), the
 * answer is "none of them" and every due tick is pushed.
 */
export class StoredCheck {
  private pending = false;

  constructor(private readonly opts: StoredCheckOptions) {}

  /** The keys of those of `ticks` the store has; none when it did not answer in time. */
  async storedKeys(ticks: ProvisionalTick[]): Promise<string[]> {
    if (ticks.length === 0 || this.pending) return [];
    this.pending = true;
    const asked = this.opts.repository.whichStored(ticks).finally(() => {
      this.pending = false;
    });
    try {
      // An answer that comes after the timeout is of no use.
      const found = await withDeadline(asked, this.opts.timeoutMs, () => undefined);
      return found ? found.map(tickKey) : [];
    } catch (err) {
      this.opts.log.debug({ err }, 'provisional ticks not checked against the store');
      return [];
    }
  }
}
