import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from '../src/hub/subscription-index.js';

describe('subscription index', () => {
  it('when clients subscribe, then each symbol lists its clients and each client its symbols', () => {
    const index = new SubscriptionIndex<string>();
    expect(index.add('a', 'AAPL')).toBe(true);
    expect(index.add('a', 'MSFT')).toBe(true);
    expect(index.add('b', 'AAPL')).toBe(true);
    expect([...index.subscribers('AAPL')]).toEqual(['a', 'b']);
    expect([...index.subscribers('MSFT')]).toEqual(['a']);
    expect([...index.symbolsOf('a')]).toEqual(['AAPL', 'MSFT']);
    expect(index.has('b', 'AAPL')).toBe(true);
    expect(index.has('b', 'MSFT')).toBe(false);
    expect([...index.symbols]).toEqual(['AAPL', 'MSFT']);
  });

  it('when a client subscribes to a symbol twice, then the second add changes nothing', () => {
    const index = new SubscriptionIndex<string>();
    index.add('a', 'AAPL');
    expect(index.add('a', 'AAPL')).toBe(false);
    expect(index.subscribers('AAPL').size).toBe(1);
    expect(index.symbolsOf('a').size).toBe(1);
  });

  it('when a client unsubscribes, then it leaves that symbol only, and a symbol with no clients left is gone', () => {
    const index = new SubscriptionIndex<string>();
    index.add('a', 'AAPL');
    index.add('a', 'MSFT');
    index.add('b', 'MSFT');
    expect(index.remove('a', 'AAPL')).toBe(true);
    expect(index.remove('a', 'AAPL')).toBe(false);
    expect(index.remove('c', 'AAPL')).toBe(false);
    expect(index.subscribers('AAPL').size).toBe(0);
    expect([...index.symbols]).toEqual(['MSFT']);
    expect([...index.symbolsOf('a')]).toEqual(['MSFT']);
  });

  it('when a client is cleared, then it leaves every symbol and the count of what it had is returned', () => {
    const index = new SubscriptionIndex<string>();
    index.add('a', 'AAPL');
    index.add('a', 'MSFT');
    index.add('b', 'MSFT');
    expect(index.clear('a')).toBe(2);
    expect(index.clear('a')).toBe(0);
    expect(index.symbolsOf('a').size).toBe(0);
    expect([...index.subscribers('MSFT')]).toEqual(['b']);
    expect([...index.symbols]).toEqual(['MSFT']);
  });

  it('when a client subscribes again after leaving, then it is listed again', () => {
    const index = new SubscriptionIndex<string>();
    index.add('a', 'AAPL');
    index.clear('a');
    expect(index.add('a', 'AAPL')).toBe(true);
    expect([...index.subscribers('AAPL')]).toEqual(['a']);
  });
});
