import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { SYMBOLS, Stack } from './support/stack.js';
import { waitFor } from '@lizards/testkit';

const AV_KEY = 'AVKEY-faults-5e1c9d';
const FINNHUB_KEY = 'FHKEY-faults-8a2f70';
const GATEWAY_API_KEY = 'GWKEY-faults-3b7d21';
const ALLOWED_ORIGIN = 'http://allowed.example';

/** Sends bytes as they are (no client-side normalisation) and returns the status code of the answer. */
async function rawStatus(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
  });
}

/** Opens a WebSocket and tells how it ended: 'open', or the HTTP status that refused it. */
async function handshake(url: string, origin?: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
    ws.on('open', () => (resolve('open'), ws.close()));
    ws.on('error', () => resolve(-1));
  });
}

// Scenario 8: who may write to the registry, who may open a socket, where the gateway may send a request, what is logged.
describe('security', () => {
  let stack: Stack;
  let canary: net.Server;
  let canaryConnections = 0;
  const sourceRequests: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  let sources: http.Server;

  beforeAll(async () => {
    // Stand-ins for Alpha Vantage and Finnhub, so the API keys are really used (and could leak into logs).
    sources = http.createServer((req, res) => {
      sourceRequests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(500).end('upstream trouble');
    });
    await new Promise<void>((resolve) => sources.listen(0, '127.0.0.1', resolve));
    const sourcesUrl = `http://127.0.0.1:${(sources.address() as net.AddressInfo).port}/`;
    canary = net.createServer((s) => (canaryConnections++, s.destroy()));
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    stack = await Stack.start({
      providers: 1,
      logLevel: 'debug',
      providerEnv: { WS_ALLOWED_ORIGINS: ALLOWED_ORIGIN },
      ingestionEnv: {
        SOURCES: 'alphavantage,finnhub',
        ALPHAVANTAGE_API_KEY: AV_KEY,
        FINNHUB_API_KEY: FINNHUB_KEY,
        ALPHAVANTAGE_BASE_URL: sourcesUrl,
        FINNHUB_BASE_URL: sourcesUrl,
        POLL_INTERVAL_MS: '500',
        BACKOFF_BASE_MS: '200',
        BACKOFF_MAX_MS: '500',
      },
      gatewayEnv: { RATE_LIMIT_API_KEYS: GATEWAY_API_KEY },
    });
  }, 90_000);

  afterAll(async () => {
    canary?.close();
    sources?.close();
    await stack?.close();
  });

  describe('registry writes', () => {
    it('when a write comes without the token or with a wrong one, then it is refused with 401 and changes nothing', async () => {
      const [address] = await stack.registered('provider');
      const res0 = await request(`${stack.registry.url}/services/provider`);
      const instanceId = ((await res0.body.json()) as { instances: { instance_id: string }[] }).instances[0]!.instance_id;
      const body = JSON.stringify({ name: 'evil', ip_address: '127.0.0.1', port_number: String((canary.address() as net.AddressInfo).port), protocol: 'HTTP' });
      for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${stack.secrets.registryToken}`, `Bearer ${stack.secrets.registryToken}x`]) {
        const headers = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
        const writes = [
          await request(`${stack.registry.url}/services/provider`, { method: 'POST', body, headers }),
          await request(`${stack.registry.url}/services/provider/${instanceId}/heartbeat`, { method: 'PUT', headers }),
          await request(`${stack.registry.url}/services/provider/${instanceId}`, { method: 'DELETE', headers }),
        ];
        for (const w of writes) await w.body.dump();
        expect(writes.map((w) => w.statusCode)).toEqual([401, 401, 401]);
      }
      expect(await stack.registered('provider')).toEqual([address]);
    });
  });

  describe('WebSocket /ws', () => {
    it('when the session token is missing, forged or the Origin is not allowed, then the handshake is refused, directly and through the gateway', async () => {
      const session = await request(`${stack.gateway.url}/session`, { method: 'POST' });
      const { websocket_url } = (await session.body.json()) as { websocket_url: string };
      const token = new URL(websocket_url).searchParams.get('token')!;
      const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
      for (const base of [`ws://${stack.gateway.address}`, `ws://${stack.providers[0]!.address}`]) {
        expect(await handshake(`${base}/ws`, ALLOWED_ORIGIN)).toBe(401);
        expect(await handshake(`${base}/ws?token=${encodeURIComponent(forged)}`, ALLOWED_ORIGIN)).toBe(401);
        expect(await handshake(`${base}/ws?token=not.a.token`, ALLOWED_ORIGIN)).toBe(401);
        const badOrigin = await handshake(`${base}/ws?token=${encodeURIComponent(token)}`, 'http://evil.example');
        expect(badOrigin).toBeGreaterThanOrEqual(400);
        expect(badOrigin).toBeLessThan(500);
        const noOrigin = await handshake(`${base}/ws?token=${encodeURIComponent(token)}`);
        expect(noOrigin).toBeGreaterThanOrEqual(400);
        expect(noOrigin).toBeLessThan(500);
        expect(await handshake(`${base}/ws?token=${encodeURIComponent(token)}`, ALLOWED_ORIGIN)).toBe('open');
      }
    });
  });

  describe('gateway routing', () => {
    it('when Host, X-Forwarded-Host, absolute-form targets or traversal paths point elsewhere, then nothing reaches anything but the registered instances on the configured routes', async () => {
      const canaryAddr = `127.0.0.1:${(canary.address() as net.AddressInfo).port}`;
      const port = stack.gateway.port;
      // Allowed route, hostile host headers: answered by the provider, the canary never contacted.
      const hosted = await rawStatus(port, `GET /prices/AAPL HTTP/1.1\r\nHost: ${canaryAddr}\r\nX-Forwarded-Host: ${canaryAddr}`);
      expect(hosted.status).toBe(200);
      const refused = [
        `GET http://${canaryAddr}/prices/AAPL HTTP/1.1\r\nHost: ${canaryAddr}`,
        `GET //${canaryAddr}/prices/AAPL HTTP/1.1\r\nHost: ${canaryAddr}`,
        `GET /services/provider HTTP/1.1\r\nHost: ${stack.registry.address}`,
        `GET /prices/../services/provider HTTP/1.1\r\nHost: x`,
        `GET /prices/%2e%2e/%2e%2e/metrics HTTP/1.1\r\nHost: x`,
        `GET /prices/AAPL/..%2f..%2fsession HTTP/1.1\r\nHost: x`,
        `GET /prices/%252e%252e/%252e%252e/ready HTTP/1.1\r\nHost: x`,
        `GET /prices\\..\\..\\metrics HTTP/1.1\r\nHost: x`,
        `GET /prices/AAPL/history/../../../../etc/passwd HTTP/1.1\r\nHost: x`,
        `GET /prices/%00/history HTTP/1.1\r\nHost: x`,
        `GET /sources/../services/ingestion HTTP/1.1\r\nHost: ${stack.ingestion.address}`,
        `GET /session HTTP/1.1\r\nHost: x`,
        `GET /prices/AAPL/../../ws HTTP/1.1\r\nHost: x`,
        `DELETE /prices/AAPL HTTP/1.1\r\nHost: x`,
      ];
      for (const head of refused) {
        const { status, text } = await rawStatus(port, head);
        expect([400, 404, 405], `${head}\n${text.slice(0, 600)}`).toContain(status);
        expect(text).not.toContain('instances');
        expect(text).not.toContain('provider_ws');
      }
      expect(canaryConnections).toBe(0);
    });
  });

  describe('logs', () => {
    it('when every process has run with its secrets in use at debug level, then no secret appears in any captured log', async () => {
      await waitFor(
        () => sourceRequests.some((r) => r.url.includes(AV_KEY)) && sourceRequests.some((r) => JSON.stringify(r.headers).includes(FINNHUB_KEY)),
        20_000,
        'both API keys to be used',
      );
      for (let i = 0; i < 5; i++) {
        const res = await request(`${stack.gateway.url}/prices/${SYMBOLS[i]}`, { headers: { 'x-api-key': GATEWAY_API_KEY } });
        await res.body.dump();
        expect(res.statusCode).toBe(200);
      }
      // Give the ingestion a poll to log the failed source fetches.
      await waitFor(() => stack.ingestion.log.includes('redacted'), 10_000, 'the redacted source URL to be logged');
      expect(stack.all.every((p) => p.log.length > 0)).toBe(true);
      expect(stack.leakedSecrets([AV_KEY, FINNHUB_KEY, GATEWAY_API_KEY])).toEqual([]);
    });
  });
});
