import { backoffDelay, sleep, withDeadline } from '@lizards/lib';

/** Seconds a client is asked to wait before retrying a read the store could not serve. */
export const STORE_RETRY_AFTER_S = 2;

// postgres.js connection errors, and PostgreSQL's "connection exception" class (08), shutdown and start-up (57P0x),
// too many connections (53300): the store is down or unreachable for now, nothing is wrong with the request.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  '53300',
]);

/** A REST read the store has not answered within this long is answered 503, well before the gateway gives up (10 s). */
export const STORE_READ_TIMEOUT_MS = 5000;

/**
 * `read`, or an ETIMEDOUT error (the store is unavailable: 503 with Retry-After) when it has not settled within `ms`.
 * The query itself goes on and its result is dropped: a stalled connection or a reconnect that waits must not hold
 * the answer past what the client and the gateway wait for.
 */
export function readWithin<T>(read: Promise<T>, ms: number): Promise<T> {
  return withDeadline(read, ms, () => {
    throw Object.assign(new Error(`the price store did not answer within ${ms} ms`), { code: 'ETIMEDOUT' });
  });
}

/** Whether `err` says the price store is unreachable (a 503 with Retry-After), not that a query is wrong. */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P0'));
}

/** Waits between tries of a start-up step: 2-4 s in all, so a blip is ridden out and an outage still fails. */
const START_RETRY = { baseMs: 250, maxMs: 2000, retries: 4 };

/**
 * Runs a start-up step (migrations, the first cursor read) again while it fails because the store is unreachable
 * (every connection reset, refused), up to four times with back-off; any other error, or that of the last try, is
 * thrown.
 * Later reads need none of this: they fail over to a 503 and the next request retries.
 */
export async function retryWhileUnavailable<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < START_RETRY.retries; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
    }
    await sleep(backoffDelay(attempt, START_RETRY));
  }
  return step();
}
