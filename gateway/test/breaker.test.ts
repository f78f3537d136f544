import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/upstreams/breaker.js';

describe('CircuitBreaker', () => {
  const make = (failureThreshold = 1) => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold, coolOffMs: 1000, now: () => now });
    return { breaker, advance: (ms: number) => (now += ms) };
  };

  it('when a failure reaches the threshold, then the circuit opens and refuses requests for the cool-off', () => {
    const { breaker, advance } = make(2);
    breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    advance(999);
    expect(breaker.available).toBe(false);
    expect(breaker.retryAfterMs).toBe(1);
  });

  it('when the cool-off has passed, then exactly one probe is let through; its success closes the circuit', () => {
    const { breaker, advance } = make();
    breaker.failure();
    advance(1000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('when the probe fails, then the circuit opens for another cool-off', () => {
    const { breaker, advance } = make(3);
    breaker.failure();
    breaker.failure();
    breaker.failure();
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
  });
});
