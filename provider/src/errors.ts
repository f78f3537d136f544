import createError from '@fastify/error';

export const UnknownSymbolError = createError('LZ_ERR_PROVIDER_UNKNOWN_SYMBOL', 'Unknown stock symbol: %s', 404);
export const BadRangeError = createError('LZ_ERR_PROVIDER_BAD_RANGE', 'Bad range: %s', 400);
export const InvalidSessionError = createError('LZ_ERR_PROVIDER_INVALID_SESSION', 'Missing, invalid or expired session token', 401);
export const OriginNotAllowedError = createError('LZ_ERR_PROVIDER_ORIGIN_NOT_ALLOWED', 'Origin not allowed: %s', 403);
