export { LizardsClient, type LizardsClientOptions, type LiveOptions } from './lizards-client.js';
export { RestClient, type RestClientOptions, type CallOptions, type FetchFunction } from './rest/rest-client.js';
export * from './rest/price-types.js';
export {
  PriceSubscription,
  type PriceSubscriptionOptions,
  type PriceSubscriptionEvents,
  type ConnectionState,
  type LivePrice,
  type StoredPriceEvent,
  type StoredNotice,
} from './live/price-subscription.js';
export type { AlertSpec, AlertInfo, AlertTriggered, AlertCondition } from './live/alert-book.js';
export { equalJitterDelay, DEFAULT_BACKOFF, type BackoffOptions } from './live/backoff.js';
export type { WebSocketLike, WebSocketConstructor } from './live/websocket-like.js';
export type { Rejection, StoredTickEntry } from '@lizards/contract';
export { LizardsError, LizardsHttpError, type LizardsErrorCode } from './errors.js';
