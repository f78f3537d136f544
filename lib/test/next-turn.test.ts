import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { onNextTurn } from '@lizards/lib';

describe('onNextTurn', () => {
  it('when asked several times in one turn, then it runs once, on the next turn, and can be asked again', async () => {
    let runs = 0;
    const schedule = onNextTurn(() => runs++);
    schedule();
    schedule();
    schedule();
    expect(runs).toBe(0);
    await nextTurn();
    expect(runs).toBe(1);
    schedule();
    await nextTurn();
    expect(runs).toBe(2);
  });
});
