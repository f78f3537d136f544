import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpProxy } from '@lizards/testkit';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import { isStoreUnavailable } from '../src/store/store-availability.js';
import { createTestSchema, proxiedDatabase } from './support/backends.js';

let db: Awaited<ReturnType<typeof createTestSchema>>;
let proxy: TcpProxy;
let store: PriceStore;

beforeAll(async () => {
  db = await createTestSchema();
  const proxied = await proxiedDatabase(db.url);
  proxy = proxied.proxy;
  store = await openPostgresPriceStore({ url: proxied.url, schema: db.schema, readPoolSize: 4 });
});
afterAll(async () => {
  await store?.close();
  await proxy?.stop();
  await db?.drop();
});

describe('store reconnect after an outage', () => {
  it('when PostgreSQL refused a dozen connection attempts in a row and is back, then the next read is served ' +
    'within seconds (the gateway gives up after 10 s), not after a reconnect back-off grown to 20 s', async () => {
    await store.repository.ping();
    await proxy.cut();
    // Four readers at a time, so that every connection of the pool fails again and again.
    let failures = 0;
    const deadline = Date.now() + 40_000;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (failures < 12 && Date.now() < deadline) {
          const err = await store.repository.ping().then(
            () => new Error('read served while PostgreSQL was unreachable'),
            (e: unknown) => e,
          );
          expect(isStoreUnavailable(err), String(err)).toBe(true);
          failures++;
        }
      }),
    );
    expect(failures).toBeGreaterThanOrEqual(12);

    await proxy.restore();
    const started = Date.now();
    await store.repository.ping();
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 90_000);
});
