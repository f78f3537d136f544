import { NoInstanceError, UpstreamDownError, UpstreamUnavailableError, withHeaders } from '@lizards/lib';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { Balancer, Upstream } from '../upstreams/balancer.js';

/** One way of reaching a service: how to try one instance, and whether a failed try may go on to another. */
export interface InstanceAttempt<T> {
  /**
   * Tries one instance; calls `answered(status)` once the instance has answered (a 5xx is a failure for its
   * breaker, any other status a success). Rejecting before that is a failure of the instance.
   */
  run(upstream: Upstream, answered: (status: number) => void): Promise<T>;
  /** Whether another instance may be tried after `err`; it may throw the error to surface instead. */
  retriable(err: unknown, upstream: Upstream): boolean;
  /**
   * Whether a retriable `err` means the instance could not be reached and the request had no effect: when the last
   * try ends so, the service is down for now (503 with Retry-After), not failing (502).
   */
  unreachable?(err: unknown): boolean;
  /** Checked before each pick: a value ends the tries with it (the caller has left). */
  abandoned?(): T | undefined;
}

export interface TryInstancesOptions {
  serviceId: string;
  balancer: Balancer;
  metrics: GatewayMetrics;
  /** `Retry-After` of the 503 when the service has no instance. */
  retryAfterMs: number;
}

/**
 * Tries an instance picked by the balancer and, after a retriable failure, once more on another one, feeding each
 * instance's breaker with the outcome. An error after the instance answered is passed on as it is (the response
 * has begun). No instance, or none reachable: 503 with `Retry-After`; every try failed: `UpstreamUnavailableError`.
 */
export async function tryInstances<T>(opts: TryInstancesOptions, attempt: InstanceAttempt<T>): Promise<T> {
  const { serviceId, balancer, metrics } = opts;
  let tried: Set<string> | undefined;
  let lastError: unknown;
  let down = false;
  for (let i = 0; i < 2; i++) {
    const left = attempt.abandoned?.();
    if (left !== undefined) return left;
    const pick = balancer.pick(serviceId, tried);
    if (!pick.upstream) {
      if (lastError) break;
      const retryAfterMs = pick.reason === 'all-open' ? pick.retryAfterMs : opts.retryAfterMs;
      throw withRetryAfter(new NoInstanceError(serviceId), retryAfterMs);
    }
    const upstream = pick.upstream;
    if (i > 0) metrics.retries.inc({ upstream_service: serviceId });
    let answered = false;
    try {
      return await attempt.run(upstream, (status) => {
        answered = true;
        if (status >= 500) upstream.breaker.failure();
        else upstream.breaker.success();
      });
    } catch (err) {
      if (answered) throw err;
      upstream.breaker.failure();
      lastError = err;
      (tried ??= new Set()).add(upstream.instanceId);
      const retriable = attempt.retriable(err, upstream);
      down = retriable && (attempt.unreachable?.(err) ?? false);
      if (!retriable) break;
    }
  }
  const reason = (lastError as Error)?.message ?? 'no other instance';
  if (down) throw withRetryAfter(new UpstreamDownError(serviceId, reason, { cause: lastError }), opts.retryAfterMs);
  throw new UpstreamUnavailableError(serviceId, reason, { cause: lastError });
}

/** A 503 with the Retry-After (whole seconds, at least 1) the client should honour. */
function withRetryAfter(error: Error, retryAfterMs: number): Error {
  return withHeaders(error, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) });
}
