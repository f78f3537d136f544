import * as grpc from '@grpc/grpc-js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface PeerLimits {
  /** Calls one client address may have in flight. */
  maxConcurrentCalls: number;
  /** Calls one client address may start per window (fixed windows). */
  rateLimit: { max: number; windowMs: number };
}

/** Retry hint of a call refused for concurrency: calls usually end within a few hundred milliseconds. */
const CONCURRENCY_RETRY_MS = 250;

/** The metadata gRPC's retry policy reads as the server's "retry after" (gRFC A6). */
const RETRY_PUSHBACK_KEY = 'grpc-retry-pushback-ms';

/**
 * Bounds what one client address (all its connections together) may ask of the server: calls in flight and calls
 * per window. A call past either ends with RESOURCE_EXHAUSTED, `grpc-retry-pushback-ms` in its trailers, before
 * the handler sees its content.
 */
export function peerLimitsInterceptor(limits: PeerLimits): grpc.ServerInterceptor {
  const inFlight = new Map<string, number>();
  const rate = new RateLimiterMemory({ points: limits.rateLimit.max, duration: limits.rateLimit.windowMs / 1000 });
  return (_method, call) => {
    const peer = call.getConnectionInfo().remoteAddress ?? call.getPeer();
    let holding = false;
    const release = () => {
      if (!holding) return;
      holding = false;
      const left = (inFlight.get(peer) ?? 1) - 1;
      if (left > 0) inFlight.set(peer, left);
      else inFlight.delete(peer);
    };
    const refuse = (details: string, retryMs: number) => {
      const metadata = new grpc.Metadata();
      metadata.set(RETRY_PUSHBACK_KEY, String(Math.max(1, Math.ceil(retryMs))));
      call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details, metadata });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const running = inFlight.get(peer) ?? 0;
            if (running >= limits.maxConcurrentCalls) {
              refuse(
                `more than ${limits.maxConcurrentCalls} concurrent ProcessData calls from ${peer}; ` +
                  'retry when one has ended',
                CONCURRENCY_RETRY_MS,
              );
              return;
            }
            inFlight.set(peer, running + 1);
            holding = true;
            rate.consume(peer).then(
              () => pass(metadata),
              (res: unknown) => {
                release();
                const retryMs = res instanceof RateLimiterRes ? res.msBeforeNext : limits.rateLimit.windowMs;
                refuse(
                  `more than ${limits.rateLimit.max} ProcessData calls per ${limits.rateLimit.windowMs} ms ` +
                    `from ${peer}; retry in ${Math.ceil(retryMs)} ms`,
                  retryMs,
                );
              },
            );
          },
          // Called when the call ends for any reason: answered, refused, cancelled or past its deadline.
          onCancel: release,
        }),
    });
  };
}
