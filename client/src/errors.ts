/** Stable codes of every error the client raises or emits: match on `code`, not on the message. */
export type LizardsErrorCode =
  /** A REST call answered with a non-2xx status (`LizardsHttpError`). */
  | 'LZ_ERR_CLIENT_HTTP'
  /** A REST call could not be made or its body was not the JSON expected. */
  | 'LZ_ERR_CLIENT_REQUEST'
  /** A history page's `next` points elsewhere than the server that sent it, or back at the same page. */
  | 'LZ_ERR_CLIENT_BAD_NEXT'
  /** The server sent the contract's `{"type":"error"}` message (unknown symbol, resume gap too large, ...). */
  | 'LZ_ERR_CLIENT_SERVER'
  /** A WebSocket message that is not JSON or not the shape its `type` promises. */
  | 'LZ_ERR_CLIENT_BAD_MESSAGE'
  /** `POST /session` failed; the subscription retries with back-off. */
  | 'LZ_ERR_CLIENT_SESSION'
  /** The socket could not be opened, or did not open in time; the subscription retries with back-off. */
  | 'LZ_ERR_CLIENT_SOCKET'
  /** No WebSocket constructor: Node.js 20 has no global one, pass `ws`'s. */
  | 'LZ_ERR_CLIENT_NO_WEBSOCKET';

export class LizardsError extends Error {
  override name = 'LizardsError';

  constructor(
    readonly code: LizardsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A non-2xx answer: the status, the server's `code` and `message` from its JSON error body, and `Retry-After`. */
export class LizardsHttpError extends LizardsError {
  override name = 'LizardsHttpError';

  constructor(
    readonly status: number,
    message: string,
    /** The server's stable error code (`LZ_ERR_PROVIDER_UNKNOWN_SYMBOL`, ...), when its body had one. */
    readonly serverCode: string | undefined,
    /** From `Retry-After` (429, 503), in milliseconds. */
    readonly retryAfterMs: number | undefined,
  ) {
    super('LZ_ERR_CLIENT_HTTP', message);
  }
}
