import createError from '@fastify/error';

export const ConfigError = createError('LZ_ERR_CONFIG', 'Invalid configuration: %s', 500);
export const BusUnavailableError = createError('LZ_ERR_BUS_UNAVAILABLE', 'Message bus unavailable: %s', 503);
export const BusClosedError = createError('LZ_ERR_BUS_CLOSED', 'Message bus is closed', 503);
export const UnknownExchangeError = createError('LZ_ERR_BUS_UNKNOWN_EXCHANGE', 'Unknown exchange: %s', 500);
export const UnknownQueueError = createError('LZ_ERR_BUS_UNKNOWN_QUEUE', 'Unknown queue: %s', 500);
export const RegistryRequestError = createError('LZ_ERR_REGISTRY_REQUEST', 'Registry request failed: %s', 502);
