import { LizardsError } from './errors.js';
import { PriceSubscription, type PriceSubscriptionOptions } from './live/price-subscription.js';
import { globalWebSocket, type WebSocketConstructor } from './live/websocket-like.js';
import { RestClient, type RestClientOptions } from './rest/rest-client.js';

export interface LizardsClientOptions extends RestClientOptions {
  /**
   * The WebSocket class for live subscriptions. Default: the global one (browsers; Node.js 22+). On Node.js 20
   * pass the `ws` package's (a subclass can add options, e.g. an `Origin` header).
   */
  WebSocket?: WebSocketConstructor;
}

export type LiveOptions = Omit<PriceSubscriptionOptions, 'openSession' | 'WebSocket'>;

/** The typed client of a Lizards gateway: REST calls, and live subscriptions that survive reconnects. */
export class LizardsClient extends RestClient {
  private readonly WebSocketClass: WebSocketConstructor | undefined;

  constructor(opts: LizardsClientOptions) {
    super(opts);
    this.WebSocketClass = opts.WebSocket ?? globalWebSocket();
  }

  /** Streams `symbols` live (more can be added later); every reconnect takes a new session and resumes. */
  live(symbols: Iterable<string>, opts: LiveOptions = {}): PriceSubscription {
    if (!this.WebSocketClass) {
      throw new LizardsError(
        'LZ_ERR_CLIENT_NO_WEBSOCKET',
        "no global WebSocket here (Node.js 20): pass the ws package's as the WebSocket option",
      );
    }
    return new PriceSubscription(symbols, {
      ...opts,
      openSession: () => this.session(),
      WebSocket: this.WebSocketClass,
    });
  }
}
