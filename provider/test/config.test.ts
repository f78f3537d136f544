import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { ProviderConfig } from '../src/config.js';
import { appOptionsFromConfig, retentionFromConfig } from '../src/config-options.js';

describe('ProviderConfig', () => {
  it('when nothing is set, then the local defaults apply (embedded store and bus, wire names)', () => {
    const c = loadConfig(ProviderConfig, {});
    expect(c).toMatchObject({
      PORT: 0,
      DATABASE_SCHEMA: 'public',
      PRICES_EXCHANGE: 'prices',
      STORE_QUEUE: 'prices.store',
      LIVE_EXCHANGE: 'prices.live',
      WS_AUTH: 'on',
      SESSION_TTL_S: 60,
      WS_MAX_CONNECTIONS_PER_SESSION: 4,
      WORKER_ENABLED: true,
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.AMQP_URL).toBeUndefined();
  });

  it('when values are given as strings, then they are converted', () => {
    const c = loadConfig(ProviderConfig, { WORKER_ENABLED: 'false', STORE_BATCH_SIZE: '50', WS_AUTH: 'off' });
    expect(c).toMatchObject({ WORKER_ENABLED: false, STORE_BATCH_SIZE: 50, WS_AUTH: 'off' });
  });

  it(
    'when the hub bounds are not set, then provisional pushes are on and the hub reads get half the pool, ' +
      'always leaving REST a connection',
    () => {
      const options = (env: Record<string, string>) => appOptionsFromConfig(loadConfig(ProviderConfig, env), 'id');
      expect(options({}).provisional).toEqual({ maxLagMs: 500, maxTicks: 50_000 });
      expect(options({}).ws).toMatchObject({
        maxQueuedMessages: 64,
        subscribeBurst: 20,
        subscribePerSecond: 5,
        maxConcurrentReads: 2,
      });
      expect(options({ DATABASE_POOL_SIZE: '10' }).ws.maxConcurrentReads).toBe(5);
      expect(options({ DATABASE_POOL_SIZE: '4', WS_MAX_CONCURRENT_READS: '8' }).ws.maxConcurrentReads).toBe(3);
      expect(options({ DATABASE_POOL_SIZE: '1' }).ws.maxConcurrentReads).toBe(1);
    },
  );

  it('when WS_MAX_ALERTS is not set, then a connection may hold 50 price alerts; set, it is the bound', () => {
    const options = (env: Record<string, string>) => appOptionsFromConfig(loadConfig(ProviderConfig, env), 'id');
    expect(options({}).ws.maxAlerts).toBe(50);
    expect(options({ WS_MAX_ALERTS: '5' }).ws.maxAlerts).toBe(5);
  });

  it.each([
    ['DATABASE_URL', 'mysql://x'],
    ['LIVE_MAX_LAG_MS', '0'],
    ['WS_SUBSCRIBE_PER_SECOND', '0'],
    ['WS_MAX_QUEUED_MESSAGES', 'lots'],
    ['WS_MAX_ALERTS', '0'],
    ['DATABASE_SCHEMA', 'Robert"); DROP'],
    ['WS_AUTH', 'maybe'],
    ['SESSION_SECRET', 'short'],
    ['TICK_RETENTION', '30'],
    ['TICK_RETENTION', '0d'],
    ['CANDLE_RETENTION', 'never'],
  ])('when %s is %s, then loading fails naming it', (key, value) => {
    expect(() => loadConfig(ProviderConfig, { [key]: value })).toThrow(key);
  });
});

describe('retentionFromConfig', () => {
  it('when nothing is set, then ticks are kept 30 days and candles forever', () => {
    expect(retentionFromConfig(loadConfig(ProviderConfig, {}))).toEqual({ tickDays: 30, candleDays: null });
  });

  it('when both are set, then they are days', () => {
    expect(retentionFromConfig(loadConfig(ProviderConfig, { TICK_RETENTION: '7d', CANDLE_RETENTION: '365d' }))).toEqual(
      { tickDays: 7, candleDays: 365 },
    );
    expect(retentionFromConfig(loadConfig(ProviderConfig, { TICK_RETENTION: 'forever' }))).toEqual({
      tickDays: null,
      candleDays: null,
    });
  });

  it.each([
    ['30d', '7d'],
    ['forever', '365d'],
  ])(
    'when candles would be dropped before ticks (TICK_RETENTION %s, CANDLE_RETENTION %s), then it fails ' +
      'naming CANDLE_RETENTION',
    (ticks, candles) => {
      expect(() =>
        retentionFromConfig(loadConfig(ProviderConfig, { TICK_RETENTION: ticks, CANDLE_RETENTION: candles })),
      ).toThrow('CANDLE_RETENTION');
    },
  );
});
