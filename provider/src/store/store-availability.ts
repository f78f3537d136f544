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

/** Whether `err` says the price store is unreachable (a 503 with Retry-After), not that a query is wrong. */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P0'));
}
