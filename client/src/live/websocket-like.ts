/**
 * What the subscription needs of a WebSocket: the browser's global one and the `ws` package's both have it.
 * The handlers' parameter is `never` so that either class's own event types fit; the subscription reads only
 * `data` (a string for text frames), `code` and `reason`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface SocketMessageEvent {
  data: unknown;
}

export interface SocketCloseEvent {
  code: number;
  reason: string;
}

/** `WebSocket.OPEN` */
export const SOCKET_OPEN = 1;

/** The global WebSocket (browsers, Node.js 22+), or undefined (Node.js 20). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}
