import { describe, expect, it } from 'vitest';
import { InsertionQueue } from '../src/hub/insertion-queue.js';

describe('InsertionQueue', () => {
  it('when items are removed from the owner anywhere, then peek and shift give the oldest live one, in order', () => {
    const owner = new Set<number>();
    const queue = new InsertionQueue<number>((n) => owner.has(n));
    for (let i = 0; i < 10; i++) {
      owner.add(i);
      queue.push(i, owner.size);
    }
    owner.delete(0);
    owner.delete(1);
    owner.delete(5);
    expect(queue.peek()).toBe(2);
    expect(queue.shift()).toBe(2);
    owner.delete(2);
    const rest: number[] = [];
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) rest.push(n);
    expect(rest).toEqual([3, 4, 6, 7, 8, 9]);
    expect(queue.peek()).toBeUndefined();
  });

  it('when the oldest item stays live while many after it come and go, then the queue stays bounded', () => {
    const owner = new Set<number>([0]);
    const queue = new InsertionQueue<number>((n) => owner.has(n));
    queue.push(0, owner.size);
    for (let i = 1; i <= 100_000; i++) {
      owner.add(i);
      queue.push(i, owner.size);
      owner.delete(i);
    }
    // Only 0 is live: what is kept is at most twice the live count plus the constant.
    expect((queue as unknown as { items: unknown[] }).items.length).toBeLessThanOrEqual(2 * 1 + 1024 + 1);
    expect(queue.shift()).toBe(0);
    expect(queue.peek()).toBeUndefined();
  });
});
