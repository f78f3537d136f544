import createError from '@fastify/error';

export const NoRouteError = createError('LZ_ERR_GATEWAY_NO_ROUTE', 'No route %s %s', 404);
export const UnsafePathError = createError('LZ_ERR_GATEWAY_UNSAFE_PATH', 'Path not allowed: %s', 400);
export const NoInstanceError = createError('LZ_ERR_GATEWAY_NO_INSTANCE', 'No live instance of service %s', 503);

/** A NoInstanceError with the Retry-After (whole seconds, at least 1) the client should honour. */
export function noInstance(serviceId: string, retryAfterMs: number): Error {
  const err = new NoInstanceError(serviceId) as Error & { retryAfterS?: number };
  err.retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return err;
}
export const UpstreamUnavailableError = createError('LZ_ERR_GATEWAY_UPSTREAM_UNAVAILABLE', 'Upstream %s unavailable: %s', 502);
export const UpstreamTimeoutError = createError('LZ_ERR_GATEWAY_UPSTREAM_TIMEOUT', 'Upstream %s did not answer within %d ms', 504);
export const RateLimitedError = createError('LZ_ERR_GATEWAY_RATE_LIMITED', 'Rate limit exceeded, retry in %d s', 429);
export const InvalidRouteTableError = createError('LZ_ERR_GATEWAY_ROUTE_TABLE', 'Invalid route table: %s', 500);
export const InvalidRateLimitGroupsError = createError('LZ_ERR_GATEWAY_RATE_LIMIT_GROUPS', 'Invalid RATE_LIMIT_GROUPS: %s', 500);
