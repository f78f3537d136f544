import { describe, expect, it } from 'vitest';
import { topicMatches } from '@lizards/lib';

describe('topicMatches', () => {
  it.each([
    ['AAPL', 'AAPL', true],
    ['*', 'AAPL', true],
    ['#', 'a.b.c', true],
    ['#', '', true],
    ['prices.*', 'prices.AAPL', true],
    ['prices.*', 'prices.AAPL.x', false],
    ['prices.#', 'prices', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.*.z', 'a.z', false],
    ['MSFT', 'AAPL', false],
  ])('when pattern %s meets key %s, then match is %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});
