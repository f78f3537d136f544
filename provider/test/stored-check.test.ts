import { describe, expect, it } from 'vitest';
import { createLogger } from '@lizards/lib';
import { tickKey, type ProvisionalTick } from '../src/hub/provisional-ticks.js';
import { StoredCheck } from '../src/hub/stored-check.js';
import type { TickKeyFields } from '../src/store/price-repository.js';

const due = (i: number): ProvisionalTick => {
  const t = { symbol: 'AAPL', price: i, timestamp: new Date(Date.UTC(2024, 8, 14, 12, 0, i)), source: 'simulated' };
  return { ...t, volume: null, publishedAt: null, key: tickKey(t), round: 0 };
};
const log = createLogger({ level: 'silent', service: 'test' });

describe('stored check', () => {
  it('when the store answers, then the keys of the ticks it has come back', async () => {
    const [a, b] = [due(1), due(2)];
    const whichStored = async (ticks: readonly TickKeyFields[]) => ticks.filter((t) => t.timestamp === b.timestamp);
    const check = new StoredCheck({ repository: { whichStored }, timeoutMs: 1000, log });
    expect(await check.storedKeys([a, b])).toEqual([b.key]);
  });

  it(
    'when the store does not answer in time or fails, then none is stored, and no second question is asked ' +
      'while the first waits',
    async () => {
      let asked = 0;
      let answer!: (rows: TickKeyFields[]) => void;
      const whichStored = () => {
        asked++;
        return new Promise<TickKeyFields[]>((resolve) => (answer = resolve));
      };
      const check = new StoredCheck({ repository: { whichStored }, timeoutMs: 20, log });
      expect(await check.storedKeys([due(1)])).toEqual([]);
      expect(await check.storedKeys([due(2)])).toEqual([]);
      expect(asked).toBe(1);
      answer([]);
      await new Promise((r) => setImmediate(r));
      const failing = new StoredCheck({
        repository: { whichStored: () => Promise.reject(new Error('ECONNREFUSED')) },
        timeoutMs: 1000,
        log,
      });
      expect(await failing.storedKeys([due(3)])).toEqual([]);
      expect(await check.storedKeys([due(4)])).toEqual([]);
      expect(asked).toBe(2);
    },
  );
});
