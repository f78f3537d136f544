import createError from '@fastify/error';

// The system's public error vocabulary: every error a service answers with, by owner. The `code` travels in each
// JSON error body and clients match on it, so a code, once published, keeps its meaning. Only error classes here.

// lib: configuration, message bus, registry client, HTTP
export const ConfigError = createError('LZ_ERR_CONFIG', 'Invalid configuration: %s', 500);
export const NoRouteError = createError('LZ_ERR_NO_ROUTE', 'No route %s %s', 404);
/** The same meaning as NoRouteError (its code too), told on the admin listener. */
export const AdminNoRouteError = createError(
  'LZ_ERR_NO_ROUTE',
  'No route %s %s (the admin listener serves /health, /ready, /metrics)',
  404,
);
export const InvalidJsonError = createError('LZ_ERR_INVALID_JSON', 'body: must be valid JSON (%s)', 400);
export const BusUnavailableError = createError('LZ_ERR_BUS_UNAVAILABLE', 'Message bus unavailable: %s', 503);
export const BusClosedError = createError('LZ_ERR_BUS_CLOSED', 'Message bus is closed', 503);
export const UnknownExchangeError = createError('LZ_ERR_BUS_UNKNOWN_EXCHANGE', 'Unknown exchange: %s', 500);
export const UnknownQueueError = createError('LZ_ERR_BUS_UNKNOWN_QUEUE', 'Unknown queue: %s', 500);
export const RegistryRequestError = createError('LZ_ERR_REGISTRY_REQUEST', 'Registry request failed: %s', 502);
export const BusUnroutableError = createError(
  'LZ_ERR_BUS_UNROUTABLE',
  'No queue took the message (exchange %s, routing key %s)',
  503,
);
export const BusTopologyMismatchError = createError(
  'LZ_ERR_BUS_TOPOLOGY_MISMATCH',
  '%s exists on the broker with other arguments (%s). A queue or exchange cannot change its type or ' +
    'arguments in place: declare it as it is, or move to a new one (README, "Changing the store queue type")',
  500,
);

// registry
export const UnknownServiceError = createError(
  'LZ_ERR_REGISTRY_UNKNOWN_SERVICE',
  'Service %s has no live instances',
  404,
);
export const UnknownInstanceError = createError(
  'LZ_ERR_REGISTRY_UNKNOWN_INSTANCE',
  'Instance %s of service %s is not registered',
  404,
);
export const UnauthorizedError = createError('LZ_ERR_REGISTRY_UNAUTHORIZED', 'Missing or invalid bearer token', 401);
export const ForbiddenError = createError('LZ_ERR_REGISTRY_FORBIDDEN', 'This token may not write service %s', 403);
export const RegistryFullError = createError(
  'LZ_ERR_REGISTRY_FULL',
  'The registry holds its maximum of %d services',
  503,
);
export const ServiceFullError = createError(
  'LZ_ERR_REGISTRY_SERVICE_FULL',
  'Service %s holds its maximum of %d instances',
  503,
);
export const TooManyWatchesError = createError(
  'LZ_ERR_REGISTRY_TOO_MANY_WATCHES',
  'This client holds its maximum of %d blocking queries',
  429,
);
export const WatchesFullError = createError(
  'LZ_ERR_REGISTRY_WATCHES_FULL',
  'The registry holds its maximum of %d blocking queries',
  503,
);

// gateway
export const GatewayNoRouteError = createError('LZ_ERR_GATEWAY_NO_ROUTE', 'No route %s %s', 404);
export const UnsafePathError = createError('LZ_ERR_GATEWAY_UNSAFE_PATH', 'Path not allowed: %s', 400);
export const UpgradeRequiredError = createError('LZ_ERR_GATEWAY_UPGRADE_REQUIRED', '%s is a WebSocket endpoint', 426);
export const DashboardNotBuiltError = createError(
  'LZ_ERR_GATEWAY_DASHBOARD_NOT_BUILT',
  'dashboard not built: run pnpm build',
  503,
);
export const NoInstanceError = createError('LZ_ERR_GATEWAY_NO_INSTANCE', 'No live instance of service %s', 503);
export const UpstreamDownError = createError('LZ_ERR_GATEWAY_UPSTREAM_DOWN', 'No instance of %s reachable: %s', 503);
export const UpstreamUnavailableError = createError(
  'LZ_ERR_GATEWAY_UPSTREAM_UNAVAILABLE',
  'Upstream %s unavailable: %s',
  502,
);
export const UpstreamTimeoutError = createError(
  'LZ_ERR_GATEWAY_UPSTREAM_TIMEOUT',
  'Upstream %s did not answer within %d ms',
  504,
);
export const RateLimitedError = createError('LZ_ERR_GATEWAY_RATE_LIMITED', 'Rate limit exceeded, retry in %d s', 429);
export const InvalidRouteTableError = createError('LZ_ERR_GATEWAY_ROUTE_TABLE', 'Invalid route table: %s', 500);
export const InvalidRateLimitGroupsError = createError(
  'LZ_ERR_GATEWAY_RATE_LIMIT_GROUPS',
  'Invalid RATE_LIMIT_GROUPS: %s',
  500,
);
export const InvalidUpstreamAllowError = createError(
  'LZ_ERR_GATEWAY_UPSTREAM_ALLOW',
  'Invalid UPSTREAM_ALLOW: %s',
  500,
);
/** Handed to the connection in place of an address when a host name resolved only outside UPSTREAM_ALLOW. */
export const UpstreamAddressRefusedError = createError(
  'LZ_ERR_GATEWAY_UPSTREAM_REFUSED',
  'address of %s refused by UPSTREAM_ALLOW',
  502,
);
export const InvalidTrustProxyError = createError('LZ_ERR_GATEWAY_TRUST_PROXY', 'Invalid TRUST_PROXY: %s', 500);

// ingestion
export const FetchFailedError = createError('LZ_ERR_INGESTION_FETCH_FAILED', 'Fetch from %s failed: %s', 502);
export const FetchTimeoutError = createError(
  'LZ_ERR_INGESTION_FETCH_TIMEOUT',
  'Fetch from %s timed out after %d ms',
  504,
);
export const ResponseTooLargeError = createError(
  'LZ_ERR_INGESTION_RESPONSE_TOO_LARGE',
  'Response from %s is larger than %d bytes',
  502,
);
export const InvalidContentError = createError('LZ_ERR_INGESTION_INVALID_CONTENT', '%s', 400);
export const SourceConfigError = createError('LZ_ERR_INGESTION_SOURCE_CONFIG', 'Invalid source configuration: %s', 500);
export const RawStoreUnavailableError = createError(
  'LZ_ERR_INGESTION_RAW_STORE_UNAVAILABLE',
  'Raw store unavailable: %s',
  503,
);
export const IngestTokenRequiredError = createError(
  'LZ_ERR_INGESTION_TOKEN_REQUIRED',
  'INGEST_TOKEN is required: gRPC ProcessData would listen on %s, which is not loopback only (set ' +
    'INGEST_TOKEN, or HOST=127.0.0.1)',
  500,
);
export const RawStoreFullError = createError(
  'LZ_ERR_INGESTION_RAW_STORE_FULL',
  'The raw store is full: %d bytes of documents await the broker (budget %d bytes)',
  503,
);
export const SourceUnavailableError = createError('LZ_ERR_INGESTION_SOURCE_UNAVAILABLE', 'Source unavailable: %s', 503);

// provider
export const UnknownSymbolError = createError('LZ_ERR_PROVIDER_UNKNOWN_SYMBOL', 'Unknown stock symbol: %s', 404);
export const BadRangeError = createError('LZ_ERR_PROVIDER_BAD_RANGE', 'Bad range: %s', 400);
export const InvalidSessionError = createError(
  'LZ_ERR_PROVIDER_INVALID_SESSION',
  'Missing, invalid or expired session token',
  401,
);
export const OriginNotAllowedError = createError('LZ_ERR_PROVIDER_ORIGIN_NOT_ALLOWED', 'Origin not allowed: %s', 403);
export const SessionSocketsExhaustedError = createError(
  'LZ_ERR_PROVIDER_SESSION_SOCKETS',
  'This session already has %d open sockets (the most per session); get a new session from POST /session',
  429,
);
export const StoreUnavailableError = createError(
  'LZ_ERR_PROVIDER_STORE_UNAVAILABLE',
  'Price store unavailable; retry later',
  503,
);
