import { describe, expect, it } from 'vitest';
import { CHAOS_DEFAULTS, runChaos } from '../src/chaos/chaos.js';

// `pnpm chaos --minutes 1 --seed 632` inside the suite: the same runner, a fixed seed (the same fault schedule).
const SEED = 632;
const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? CHAOS_DEFAULTS.clients);

describe('chaos soak, one minute, fixed seed', () => {
  it(
    'when overlapping faults hit every part for a minute under load, then nothing is lost, doubled or reordered, ' +
      'REST answers no 5xx but 503 with Retry-After, memory stays bounded, and all converges within 30 s',
    async () => {
      const report = await runChaos({
        ...CHAOS_DEFAULTS,
        seed: SEED,
        minutes: 1,
        clients: CLIENTS,
        log: () => undefined,
      });
      const { timeline, violations, ...figures } = report;
      expect(
        violations,
        `seed ${SEED}, replay: pnpm chaos --seed ${SEED} --minutes 1\n${timeline}\n${JSON.stringify(figures)}`,
      ).toEqual([]);
      expect(report.faults).toBeGreaterThanOrEqual(20);
      expect(report.accepted).toBeGreaterThan(100);
      expect(report.deliveries).toBeGreaterThan(report.accepted);
      expect(report.convergedMs).toBeLessThan(CHAOS_DEFAULTS.convergeMs);
    },
    8 * 60_000,
  );
});
