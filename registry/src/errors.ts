import createError from '@fastify/error';

export const UnknownServiceError = createError('LZ_ERR_REGISTRY_UNKNOWN_SERVICE', 'Service %s has no live instances', 404);
export const UnknownInstanceError = createError('LZ_ERR_REGISTRY_UNKNOWN_INSTANCE', 'Instance %s of service %s is not registered', 404);
export const UnauthorizedError = createError('LZ_ERR_REGISTRY_UNAUTHORIZED', 'Missing or invalid bearer token', 401);
export const InvalidJsonError = createError('LZ_ERR_REGISTRY_INVALID_JSON', 'body: must be valid JSON (%s)', 400);
