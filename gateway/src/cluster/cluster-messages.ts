// What a gateway's cluster primary and its workers tell each other over the IPC channel.

/** Worker → primary: both ports are listening (the primary registers the gateway once, with these). */
export interface ListeningMessage {
  type: 'lz:gateway:listening';
  port: number;
  adminPort: number;
}

/** Worker → primary: a /metrics scrape reached this worker; answer with every worker's series aggregated. */
export interface ScrapeRequest {
  type: 'lz:gateway:scrape';
  id: number;
}

/** Primary → worker: the aggregated exposition text, or why there is none. */
export interface ScrapeResponse {
  type: 'lz:gateway:scraped';
  id: number;
  text?: string;
  error?: string;
}

export type WorkerMessage = ListeningMessage | ScrapeRequest;

const TYPES = new Set(['lz:gateway:listening', 'lz:gateway:scrape', 'lz:gateway:scraped']);

/** True for the messages above (prom-client's own cluster messages share the channel). */
export function isGatewayMessage(message: unknown): message is WorkerMessage | ScrapeResponse {
  return typeof message === 'object' && message !== null && TYPES.has((message as { type?: string }).type ?? '');
}
