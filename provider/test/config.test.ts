import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { ProviderConfig } from '../src/config.js';

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
      SESSION_TTL_S: 3600,
      WORKER_ENABLED: true,
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.AMQP_URL).toBeUndefined();
  });

  it('when values are given as strings, then they are converted', () => {
    const c = loadConfig(ProviderConfig, { WORKER_ENABLED: 'false', STORE_BATCH_SIZE: '50', WS_AUTH: 'off' });
    expect(c).toMatchObject({ WORKER_ENABLED: false, STORE_BATCH_SIZE: 50, WS_AUTH: 'off' });
  });

  it.each([
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_SCHEMA', 'Robert"); DROP'],
    ['WS_AUTH', 'maybe'],
    ['SESSION_SECRET', 'short'],
  ])('when %s is %s, then loading fails naming it', (key, value) => {
    expect(() => loadConfig(ProviderConfig, { [key]: value })).toThrow(key);
  });
});
