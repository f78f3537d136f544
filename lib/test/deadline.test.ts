import { describe, expect, it } from 'vitest';
import { withDeadline } from '../src/retry/deadline.js';

const later = <T>(ms: number, outcome: () => T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(outcome()), ms));

describe('withDeadline', () => {
  it('when the work settles in time, then its value or its rejection is the answer', async () => {
    await expect(
      withDeadline(
        later(5, () => 'done'),
        1000,
        () => 'late',
      ),
    ).resolves.toBe('done');
    await expect(withDeadline(Promise.reject(new Error('broken')), 1000, () => 'late')).rejects.toThrow('broken');
  });

  it('when the work is still running at the deadline, then the timeout value is the answer', async () => {
    await expect(
      withDeadline(
        later(500, () => 'done'),
        10,
        () => 'late',
      ),
    ).resolves.toBe('late');
  });

  it('when the timeout throws, then the answer rejects with it; a later failure of the work is dropped', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const work = new Promise((_, reject) => setTimeout(() => reject(new Error('too late')), 30));
      await expect(
        withDeadline(work, 10, () => {
          throw new Error('deadline');
        }),
      ).rejects.toThrow('deadline');
      await new Promise((r) => setTimeout(r, 60));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
