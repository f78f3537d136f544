import createError from '@fastify/error';

export const FetchFailedError = createError('LZ_ERR_INGESTION_FETCH_FAILED', 'Fetch from %s failed: %s', 502);
export const FetchTimeoutError = createError('LZ_ERR_INGESTION_FETCH_TIMEOUT', 'Fetch from %s timed out after %d ms', 504);
export const ResponseTooLargeError = createError('LZ_ERR_INGESTION_RESPONSE_TOO_LARGE', 'Response from %s is larger than %d bytes', 502);
export const InvalidContentError = createError('LZ_ERR_INGESTION_INVALID_CONTENT', '%s', 400);
export const SourceConfigError = createError('LZ_ERR_INGESTION_SOURCE_CONFIG', 'Invalid source configuration: %s', 500);
export const RawStoreUnavailableError = createError('LZ_ERR_INGESTION_RAW_STORE_UNAVAILABLE', 'Raw store unavailable: %s', 503);
