import { ConfigError, listSetting, storeTopologyOptions } from '@lizards/lib';
import type { ProviderAppOptions } from './app.js';
import type { ProviderConfig } from './config.js';
import type { Retention } from './store/history-maintenance.js';

const retentionDays = (setting: string): number | null => (setting === 'forever' ? null : Number.parseInt(setting, 10));

/**
 * TICK_RETENTION and CANDLE_RETENTION as days; candles must outlive ticks (a range past the ticks reads only candles).
 */
export function retentionFromConfig(config: ProviderConfig): Retention {
  const tickDays = retentionDays(config.TICK_RETENTION);
  const candleDays = retentionDays(config.CANDLE_RETENTION);
  if (candleDays !== null && (tickDays === null || candleDays < tickDays)) {
    throw new ConfigError(
      `CANDLE_RETENTION: must be at least TICK_RETENTION (got ${config.CANDLE_RETENTION} and ${config.TICK_RETENTION})`,
    );
  }
  return { tickDays, candleDays };
}

/** The app options read straight from the config: one mapping for server.ts and for the all-in-one stack. */
export function appOptionsFromConfig(
  config: ProviderConfig,
  instanceId: string,
): Pick<ProviderAppOptions, 'topology' | 'worker' | 'ws' | 'livePollIntervalMs' | 'provisional' | 'readTimeoutMs'> {
  // The hub's reads get a lane of the read pool; REST and the live feed always keep at least one connection.
  const pool = config.DATABASE_POOL_SIZE;
  const maxConcurrentReads = Math.max(1, Math.min(config.WS_MAX_CONCURRENT_READS ?? Math.floor(pool / 2), pool - 1));
  return {
    topology: {
      store: storeTopologyOptions(config),
      liveExchange: config.LIVE_EXCHANGE,
      liveQueue: `${config.LIVE_EXCHANGE}.${instanceId}`,
      provisionalQueue: `${config.PRICES_EXCHANGE}.provisional.${instanceId}`,
    },
    worker: {
      prefetch: config.STORE_PREFETCH,
      batchSize: config.STORE_BATCH_SIZE,
      batchWaitMs: config.STORE_BATCH_WAIT_MS,
    },
    ws: {
      requireToken: config.WS_AUTH === 'on',
      allowedOrigins: listSetting(config.WS_ALLOWED_ORIGINS),
      maxConnectionsPerSession: config.WS_MAX_CONNECTIONS_PER_SESSION,
      maxSymbols: config.WS_MAX_SYMBOLS,
      maxAlerts: config.WS_MAX_ALERTS,
      maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
      maxPayload: config.WS_MAX_PAYLOAD,
      maxErrors: config.WS_MAX_ERRORS,
      maxQueuedMessages: config.WS_MAX_QUEUED_MESSAGES,
      subscribeBurst: config.WS_SUBSCRIBE_BURST,
      subscribePerSecond: config.WS_SUBSCRIBE_PER_SECOND,
      maxConcurrentReads,
      pingIntervalMs: config.WS_PING_INTERVAL_MS,
      sendBufferBytes: config.WS_SEND_BUFFER_BYTES,
      slowClientTimeoutMs: config.WS_SLOW_CLIENT_TIMEOUT_MS,
      resumeMaxTicks: config.WS_RESUME_MAX_TICKS,
      staleAfterMs: config.STALE_AFTER_MS,
    },
    livePollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
    readTimeoutMs: config.STORE_READ_TIMEOUT_MS,
    provisional: { maxLagMs: config.LIVE_MAX_LAG_MS, maxTicks: config.LIVE_PROVISIONAL_MAX_TICKS },
  };
}
