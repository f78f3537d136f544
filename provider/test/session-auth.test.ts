import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '@lizards/testkit';
import { SessionTokens } from '../src/session/session-token.js';
import { createTestSchema, deleteTopology, runId, testTopology } from './support/backends.js';
import { startProvider, TEST_SECRET, TestClient, type ProviderHarness } from './support/provider-harness.js';

const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
let a: ProviderHarness;
let b: ProviderHarness;
const ORIGIN = 'https://dashboard.example';

beforeAll(async () => {
  db = await createTestSchema(run);
  const ws = { requireToken: true, allowedOrigins: [ORIGIN] };
  const start = () => startProvider({ schema: db.schema, databaseUrl: db.url, topology, worker: false, ws });
  [a, b] = await Promise.all([start(), start()]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await db?.drop();
  await deleteTopology(topology);
});

const newSession = async (p: ProviderHarness, headers: Record<string, string> = {}) => {
  const res = await p.app.inject({
    method: 'POST',
    url: '/session',
    headers: { host: 'provider.local:1234', ...headers },
  });
  expect(res.statusCode).toBe(200);
  return res.json() as { websocket_url: string };
};
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
const openWith = async (p: ProviderHarness, query: string, origin = ORIGIN) => {
  const c = new TestClient(`${p.wsUrl}${query}`, { origin });
  try {
    await c.open();
    return { ok: true as const, client: c };
  } catch (err) {
    return { ok: false as const, error: (err as Error).message };
  }
};

describe('POST /session', () => {
  it('returns a websocket_url on the Host the client used, carrying a signed token', async () => {
    const { websocket_url } = await newSession(a);
    expect(websocket_url).toMatch(/^ws:\/\/provider\.local:1234\/ws\?token=[\w-]+\.[\w-]+$/);
  });

  it('when the gateway forwards the request, then the URL points at the gateway', async () => {
    const { websocket_url } = await newSession(a, {
      'x-forwarded-host': 'stocks.example.com',
      'x-forwarded-proto': 'https',
    });
    expect(websocket_url.startsWith('wss://stocks.example.com/ws?token=')).toBe(true);
  });

  it('accepts an empty JSON body', async () => {
    const res = await a.app.inject({
      method: 'POST',
      url: '/session',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('GET /ws authentication', () => {
  it('when the token comes from another instance with the same secret, then the socket opens', async () => {
    const token = tokenOf((await newSession(a)).websocket_url);
    const opened = await openWith(b, `?token=${encodeURIComponent(token)}`);
    expect(opened.ok).toBe(true);
    if (opened.ok) {
      opened.client.send({ type: 'subscribe', symbols: ['NOPE'] });
      await opened.client.waitForMessage((m) => m.type === 'subscribed');
      opened.client.close();
    }
  });

  it.each([
    ['no token', ''],
    ['a forged token', `?token=${new SessionTokens('another-secret-0123456789', 60).issue().token}`],
    ['a tampered token', 'TAMPER'],
    ['an expired token', `?token=${new SessionTokens(TEST_SECRET, 60, () => Date.now() - 120_000).issue().token}`],
  ])('when the client has %s, then the upgrade is refused with 401', async (_what, query) => {
    let q = query;
    if (q === 'TAMPER') {
      const [payload, sig] = tokenOf((await newSession(a)).websocket_url).split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      q = `?token=${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 10_000 })).toString('base64url')}.${sig}`;
    }
    expect(await openWith(a, q)).toEqual({ ok: false, error: 'HTTP 401' });
  });

  it('when the Origin is not on the allow-list, then the upgrade is refused with 403', async () => {
    const token = tokenOf((await newSession(a)).websocket_url);
    expect(await openWith(a, `?token=${token}`, 'https://evil.example')).toEqual({ ok: false, error: 'HTTP 403' });
  });
});

/** The HTTP answer that refused a handshake, body included. */
const refusal = (url: string, origin = ORIGIN) =>
  new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const ws = new WebSocket(url, { origin });
    ws.once('open', () => (ws.close(), reject(new Error('the socket opened'))));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    ws.once('error', reject);
  });

describe('sockets per session (WS_MAX_CONNECTIONS_PER_SESSION = 4)', () => {
  it(
    'when a session has 4 open sockets, then a 5th with its token is refused with 429, a fresh session ' +
      'connects, and a closed socket gives its place back',
    async () => {
      const token = tokenOf((await newSession(a)).websocket_url);
      const opened = await Promise.all(Array.from({ length: 4 }, () => openWith(a, `?token=${token}`)));
      const sockets = opened.map((o) => (o.ok ? o.client : undefined)).filter((c) => c !== undefined);
      expect(sockets).toHaveLength(4);
      try {
        expect(await refusal(`${a.wsUrl}?token=${token}`)).toEqual({
          status: 429,
          body: {
            statusCode: 429,
            error: 'Too Many Requests',
            message:
              'This session already has 4 open sockets (the most per session); get a new session from POST /session',
            code: 'LZ_ERR_PROVIDER_SESSION_SOCKETS',
          },
        });

        const fresh = await openWith(a, `?token=${tokenOf((await newSession(a)).websocket_url)}`);
        expect(fresh.ok).toBe(true);
        if (fresh.ok) fresh.client.close();

        sockets.pop()!.close();
        const again = await waitFor(
          async () => {
            const o = await openWith(a, `?token=${token}`);
            return o.ok ? o.client : undefined;
          },
          5000,
          "the closed socket's place",
        );
        sockets.push(again);
        expect(await openWith(a, `?token=${token}`)).toEqual({ ok: false, error: 'HTTP 429' });
      } finally {
        for (const c of sockets) c.close();
      }
    },
  );

  it(
    'when a session has its 4 sockets on one instance, then another instance still takes 4 (the bound is per ' +
      'instance)',
    async () => {
      const token = tokenOf((await newSession(a)).websocket_url);
      const onA = await Promise.all(Array.from({ length: 4 }, () => openWith(a, `?token=${token}`)));
      const onB = await Promise.all(Array.from({ length: 4 }, () => openWith(b, `?token=${token}`)));
      try {
        expect([...onA, ...onB].every((o) => o.ok)).toBe(true);
        expect(await openWith(b, `?token=${token}`)).toEqual({ ok: false, error: 'HTTP 429' });
      } finally {
        for (const o of [...onA, ...onB]) if (o.ok) o.client.close();
      }
    },
  );
});

describe('session token lifetime', () => {
  it(
    'when a token expires, then the socket it opened stays open and served, the token opens no new one (401), ' +
      'and a fresh session does',
    async () => {
      let skewMs = 0;
      const p = await startProvider({
        schema: db.schema,
        databaseUrl: db.url,
        topology,
        worker: false,
        ws: { requireToken: true, allowedOrigins: [ORIGIN] },
        session: { ttlSeconds: 60, now: () => Date.now() + skewMs },
      });
      try {
        const token = tokenOf((await newSession(p)).websocket_url);
        const opened = await openWith(p, `?token=${token}`);
        expect(opened.ok).toBe(true);
        if (!opened.ok) return;

        skewMs = 61_000;
        expect(await openWith(p, `?token=${token}`)).toEqual({ ok: false, error: 'HTTP 401' });
        opened.client.send({ type: 'subscribe', symbols: ['NOPE'] });
        await opened.client.waitForMessage((m) => m.type === 'subscribed');
        expect(opened.client.closeCode).toBeUndefined();

        const fresh = await openWith(p, `?token=${tokenOf((await newSession(p)).websocket_url)}`);
        expect(fresh.ok).toBe(true);
        if (fresh.ok) fresh.client.close();
        opened.client.close();
      } finally {
        await p.close();
      }
    },
  );
});

describe('WS_AUTH=off', () => {
  it('when authentication is off and no Origin list is set, then anyone may connect', async () => {
    const open = await startProvider({ schema: db.schema, databaseUrl: db.url, topology, worker: false });
    try {
      const opened = await openWith(open, '', 'https://anywhere.example');
      expect(opened.ok).toBe(true);
      if (opened.ok) opened.client.close();
    } finally {
      await open.close();
    }
  });
});
