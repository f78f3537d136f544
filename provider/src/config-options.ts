import { listSetting } from '@lizards/lib';
import type { ProviderAppOptions } from './app.js';
import type { ProviderConfig } from './config.js';

/** The app options read straight from the config: one mapping for server.ts and for the all-in-one stack. */
export function appOptionsFromConfig(
  config: ProviderConfig,
  instanceId: string,
): Pick<ProviderAppOptions, 'topology' | 'worker' | 'ws' | 'livePollIntervalMs'> {
  return {
    topology: {
      pricesExchange: config.PRICES_EXCHANGE,
      storeQueue: config.STORE_QUEUE,
      liveExchange: config.LIVE_EXCHANGE,
      liveQueue: `${config.LIVE_EXCHANGE}.${instanceId}`,
    },
    worker: { prefetch: config.STORE_PREFETCH, batchSize: config.STORE_BATCH_SIZE, batchWaitMs: config.STORE_BATCH_WAIT_MS },
    ws: {
      requireToken: config.WS_AUTH === 'on',
      allowedOrigins: listSetting(config.WS_ALLOWED_ORIGINS),
      maxSymbols: config.WS_MAX_SYMBOLS,
      maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
      maxPayload: config.WS_MAX_PAYLOAD,
      maxErrors: config.WS_MAX_ERRORS,
      pingIntervalMs: config.WS_PING_INTERVAL_MS,
      sendBufferBytes: config.WS_SEND_BUFFER_BYTES,
      slowClientTimeoutMs: config.WS_SLOW_CLIENT_TIMEOUT_MS,
      resumeMaxTicks: config.WS_RESUME_MAX_TICKS,
      staleAfterMs: config.STALE_AFTER_MS,
    },
    livePollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
  };
}
