import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { RabbitBus, RegistryClient, type Instance, type RegistrationBody } from '@lizards/lib';
import type { ProcessingResponse } from '@lizards/proto';
import { ServiceProcess, servicePorts } from '../src/service-process.js';
import { AMQP_URL, SYMBOLS, Stack } from '../src/stack.js';
import { rawStatus, secretParts, waitFor } from '@lizards/testkit';

const AV_KEY = 'AVKEY-faults-5e1c9d';
const FINNHUB_KEY = 'FHKEY-faults-8a2f70';
const GATEWAY_API_KEY = 'GWKEY-faults-3b7d21';
const ALLOWED_ORIGIN = 'http://allowed.example';

/** Opens a WebSocket and tells how it ended: 'open', or the HTTP status that refused it. */
async function handshake(url: string, origin?: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
    ws.on('open', () => (resolve('open'), ws.close()));
    ws.on('error', () => resolve(-1));
  });
}

// Scenario 8: who may write to the registry, who may open a socket, where the gateway may send a request, what is
// logged.
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
    it(
      'when a write comes without the token or with a wrong one, then it is refused with 401 and changes ' + 'nothing',
      async () => {
        const [address] = await stack.registered('provider');
        const res0 = await request(`${stack.registry.url}/services/provider`);
        const instanceId = ((await res0.body.json()) as { instances: { instance_id: string }[] }).instances[0]!
          .instance_id;
        const body = JSON.stringify({
          name: 'evil',
          ip_address: '127.0.0.1',
          port_number: String((canary.address() as net.AddressInfo).port),
          protocol: 'HTTP',
        });
        for (const authorization of [
          undefined,
          'Bearer wrong-token',
          `Basic ${stack.secrets.registryToken}`,
          `Bearer ${stack.secrets.registryToken}x`,
        ]) {
          const headers = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
          const writes = [
            await request(`${stack.registry.url}/services/provider`, { method: 'POST', body, headers }),
            await request(`${stack.registry.url}/services/provider/${instanceId}/heartbeat`, {
              method: 'PUT',
              headers,
            }),
            await request(`${stack.registry.url}/services/provider/${instanceId}`, { method: 'DELETE', headers }),
          ];
          for (const w of writes) await w.body.dump();
          expect(writes.map((w) => w.statusCode)).toEqual([401, 401, 401]);
        }
        expect(await stack.registered('provider')).toEqual([address]);
      },
    );
  });

  describe('registry writes, whatever the spelling of the path', () => {
    it(
      'when a write without the token spells its path otherwise (percent-encoded, absolute-form), then 401 and ' +
        'nothing changes: the canary is never registered, the provider never removed',
      async () => {
        const before = await stack.registered('provider');
        const listed = await request(`${stack.registry.url}/services/provider`);
        const [genuine] = ((await listed.body.json()) as { instances: { instance_id: string }[] }).instances;
        const canaryPort = (canary.address() as net.AddressInfo).port;
        const body = JSON.stringify({
          name: 'evil',
          ip_address: '127.0.0.1',
          port_number: String(canaryPort),
          protocol: 'http',
        });
        for (const services of [
          '/%73ervices',
          '/servic%65s',
          `http://${stack.registry.address}/services`,
          'HTTP://evil.example/%73ervices',
        ]) {
          const writes = [
            await rawStatus(
              stack.registry.port,
              `POST ${services}/provider HTTP/1.1\r\nHost: x\r\nContent-Type: application/json`,
              body,
            ),
            await rawStatus(
              stack.registry.port,
              `PUT ${services}/provider/${genuine!.instance_id}/heartbeat HTTP/1.1\r\nHost: x`,
            ),
            await rawStatus(
              stack.registry.port,
              `DELETE ${services}/provider/${genuine!.instance_id} HTTP/1.1\r\nHost: x`,
            ),
          ];
          expect(
            writes.map((w) => w.status),
            services,
          ).toEqual([401, 401, 401]);
        }
        expect(await stack.registered('provider')).toEqual(before);
        const res = await request(`${stack.gateway.url}/prices/AAPL`);
        await res.body.dump();
        expect(res.statusCode).toBe(200);
        expect(canaryConnections).toBe(0);
      },
    );
  });

  describe('WebSocket /ws', () => {
    it(
      'when the session token is missing, forged or the Origin is not allowed, then the handshake is refused, ' +
        'directly and through the gateway',
      async () => {
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
      },
    );
  });

  describe('WebSocket sessions', () => {
    it(
      'when one session opens a 5th socket through the gateway, then it is refused with 429 and a JSON error, ' +
        'and a fresh session from POST /session connects',
      async () => {
        const newSocketUrl = async () =>
          (
            (await (await request(`${stack.gateway.url}/session`, { method: 'POST' })).body.json()) as {
              websocket_url: string;
            }
          ).websocket_url;
        const url = await newSocketUrl();
        const open = (socketUrl: string) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(socketUrl, { origin: ALLOWED_ORIGIN });
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          });
        const sockets = await Promise.all(Array.from({ length: 4 }, () => open(url)));
        try {
          const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
            const ws = new WebSocket(url, { origin: ALLOWED_ORIGIN });
            ws.once('open', () => (ws.close(), reject(new Error('a 5th socket opened'))));
            ws.once('unexpected-response', (_req, res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            });
            ws.once('error', reject);
          });
          expect(refused.status).toBe(429);
          expect(JSON.parse(refused.body)).toMatchObject({
            code: 'LZ_ERR_PROVIDER_SESSION_SOCKETS',
            message: expect.stringContaining('POST /session'),
          });
          sockets.push(await open(await newSocketUrl()));
          expect(sockets.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
        } finally {
          for (const ws of sockets) ws.close();
        }
      },
    );
  });

  describe('gRPC ingest', () => {
    const rowsAt = (symbol: string, at: string) =>
      stack.sql<{ source: string; price: number }[]>`
        SELECT source, price FROM ${stack.sql(stack.schema)}.ticks
         WHERE symbol = ${symbol} AND "timestamp" = ${new Date(at)} ORDER BY source`;
    const processData = (content: string, metadata: grpc.Metadata) =>
      new Promise<{ response?: ProcessingResponse; error?: grpc.ServiceError }>((resolve) =>
        stack.feeder.grpc.ProcessData({ content }, metadata, { deadline: Date.now() + 10_000 }, (error, response) =>
          resolve(error ? { error } : { response: response! }),
        ),
      );

    it(
      'when ProcessData comes without the token or with a wrong one, then it fails with UNAUTHENTICATED and ' +
        'nothing is stored',
      async () => {
        const at = new Date(Date.now() - 5000).toISOString();
        const wrong = new grpc.Metadata();
        wrong.set('authorization', `Bearer ${stack.secrets.ingestToken.slice(0, -1)}x`);
        for (const metadata of [new grpc.Metadata(), wrong]) {
          const { error } = await processData(JSON.stringify({ symbol: 'MSFT', price: 1, timestamp: at }), metadata);
          expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
        }
        // A tick accepted after them is stored: had either been taken, its row would be there by then too.
        await stack.feeder.send(1);
        await stack.waitUntilStored(30_000);
        expect(await rowsAt('MSFT', at)).toEqual([]);
      },
    );

    it(
      'when pushed content claims source yahoo, then the tick is stored and pushed as grpc, and the genuine ' +
        'Yahoo tick of that instant is still stored',
      async () => {
        const { websocket_url } = (await (
          await request(`${stack.gateway.url}/session`, { method: 'POST' })
        ).body.json()) as { websocket_url: string };
        const socket = new WebSocket(websocket_url, { origin: ALLOWED_ORIGIN });
        const pushed: { price: number; timestamp: string; source?: string }[] = [];
        socket.on('message', (raw: Buffer) => {
          const msg = JSON.parse(raw.toString()) as {
            type: string;
            data?: Record<string, { price: number; timestamp: string; source?: string }>;
          };
          if (msg.type === 'price_update' && msg.data?.AAPL) pushed.push(msg.data.AAPL);
        });
        await new Promise<void>(
          (resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)),
        );
        socket.send(JSON.stringify({ type: 'subscribe', symbols: ['AAPL'] }));

        const at = new Date(Date.now() + 9000).toISOString();
        const { response } = await processData(
          JSON.stringify({ symbol: 'AAPL', price: 1, timestamp: at, source: 'yahoo' }),
          stack.feeder.authMetadata(),
        );
        expect(response).toMatchObject({ status: 'OK', accepted: 1 });
        expect(
          await waitFor(
            async () => ((await rowsAt('AAPL', at)).length > 0 ? rowsAt('AAPL', at) : undefined),
            20_000,
            'the pushed tick stored',
          ),
        ).toEqual([{ source: 'grpc', price: 1 }]);
        await waitFor(
          () => pushed.some((p) => Date.parse(p.timestamp) === Date.parse(at)),
          20_000,
          'the pushed tick at the client',
        );

        // The genuine tick of the same symbol and instant, as ingestion publishes a Yahoo poll.
        const bus = RabbitBus.create({ url: AMQP_URL });
        try {
          await bus.waitUntilConnected();
          const genuine = { symbol: 'AAPL', price: 187.5, timestamp: at, source: 'yahoo' };
          await bus.publish(stack.topology.prices, 'AAPL', Buffer.from(JSON.stringify(genuine)), {
            messageId: `yahoo:AAPL:${at}`,
            headers: { 'x-published-at': Date.now() },
          });
        } finally {
          await bus.close();
        }
        expect(
          await waitFor(
            async () => ((await rowsAt('AAPL', at)).length === 2 ? rowsAt('AAPL', at) : undefined),
            20_000,
            'the genuine tick stored',
          ),
        ).toEqual([
          { source: 'grpc', price: 1 },
          { source: 'yahoo', price: 187.5 },
        ]);
        socket.close();
        expect(pushed.filter((p) => p.source === 'yahoo' && p.price === 1)).toEqual([]);
      },
    );
  });

  describe('gateway routing', () => {
    it(
      'when Host, X-Forwarded-Host, absolute-form targets or traversal paths point elsewhere, then nothing ' +
        'reaches anything but the registered instances on the configured routes',
      async () => {
        const canaryAddr = `127.0.0.1:${(canary.address() as net.AddressInfo).port}`;
        const port = stack.gateway.port;
        // Allowed route, hostile host headers: answered by the provider, the canary never contacted.
        const hosted = await rawStatus(
          port,
          `GET /prices/AAPL HTTP/1.1\r\nHost: ${canaryAddr}\r\nX-Forwarded-Host: ${canaryAddr}`,
        );
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
      },
    );
  });

  describe('admin endpoints', () => {
    it(
      'when /ready or /metrics is asked on any public port, then 404 telling nothing; the admin ports serve ' + 'them',
      async () => {
        for (const service of [stack.gateway, stack.registry, stack.ingestion, stack.providers[0]!]) {
          for (const path of ['/ready', '/metrics']) {
            const res = await request(`${service.url}${path}`);
            const body = await res.body.text();
            expect(res.statusCode, `${service.name} ${path}`).toBe(404);
            expect(body).not.toMatch(/instances|breaker|redis|registry|database|_total/);
          }
          expect(await service.status('/ready'), `${service.name} admin /ready`).toBe(200);
        }
        const metrics = await (await request(`${stack.gateway.adminUrl}/metrics`)).body.text();
        expect(metrics).toMatch(/^gateway_upstream_instances\{[^}]*upstream_service="provider"[^}]*\} 1$/m);
      },
    );

    it(
      'when Prometheus asks the registry SD, then every target ' + 'is an admin listener, and each serves /metrics',
      async () => {
        const sd = (await (await request(`${stack.registry.url}/sd/prometheus`)).body.json()) as {
          targets: string[];
          labels: Record<string, string>;
        }[];
        const targets = Object.fromEntries(sd.map((g) => [g.labels.service, g.targets]));
        expect(targets).toEqual({
          registry: [`127.0.0.1:${stack.registry.adminPort}`],
          gateway: [`127.0.0.1:${stack.gateway.adminPort}`],
          ingestion: [`127.0.0.1:${stack.ingestion.adminPort}`],
          provider: [`127.0.0.1:${stack.providers[0]!.adminPort}`],
        });
        for (const {
          targets: [target],
          labels,
        } of sd) {
          const res = await request(`http://${target}/metrics`);
          expect(res.statusCode, `${labels.service} ${target}`).toBe(200);
          expect(await res.body.text()).toContain(`service="${labels.service}"`);
        }
      },
    );
  });

  describe('logs', () => {
    it(
      'when every process has run with its secrets in use at debug level, then no secret appears in any ' +
        'captured log',
      async () => {
        await waitFor(
          () =>
            sourceRequests.some((r) => r.url.includes(AV_KEY)) &&
            sourceRequests.some((r) => JSON.stringify(r.headers).includes(FINNHUB_KEY)),
          20_000,
          'both API keys to be used',
        );
        for (let i = 0; i < 5; i++) {
          const res = await request(`${stack.gateway.url}/prices/${SYMBOLS[i]}`, {
            headers: { 'x-api-key': GATEWAY_API_KEY },
          });
          await res.body.dump();
          expect(res.statusCode).toBe(200);
        }
        // Give the ingestion a poll to log the failed source fetches.
        await waitFor(() => stack.ingestion.log.includes('redacted'), 10_000, 'the redacted source URL to be logged');
        expect(stack.all.every((p) => p.log.length > 0)).toBe(true);
        expect(stack.leakedSecrets([AV_KEY, FINNHUB_KEY, GATEWAY_API_KEY])).toEqual([]);
      },
    );
  });
  // An open registry must not be a traffic hijack: the gateway contacts only HTTP instances inside UPSTREAM_ALLOW.
  describe('gateway upstream allow-list', () => {
    let gateway: ServiceProcess;
    let registry: RegistryClient;
    let heartbeats: NodeJS.Timeout;
    const canaries: net.Server[] = [];
    let canaryConnections = 0;
    const registered: { body: RegistrationBody; instance: Instance }[] = [];

    const canaryOn = async (host: string): Promise<number> => {
      const server = net.createServer((s) => (canaryConnections++, s.destroy()));
      canaries.push(server);
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      return (server.address() as net.AddressInfo).port;
    };

    beforeAll(async () => {
      registry = new RegistryClient({ url: stack.registry.url, token: stack.secrets.registryToken });
      // As a hijacker would: `provider` at a loopback address outside this gateway's allow-list, at the cloud
      // metadata address, and at an allowed address that does not speak HTTP.
      const bodies: RegistrationBody[] = [
        { name: 'hijack-outside', ip_address: '127.0.0.2', port_number: await canaryOn('127.0.0.2'), protocol: 'http' },
        { name: 'hijack-metadata', ip_address: '169.254.169.254', port_number: 80, protocol: 'http' },
        { name: 'hijack-grpc', ip_address: '127.0.0.1', port_number: await canaryOn('127.0.0.1'), protocol: 'gRPC' },
      ];
      for (const body of bodies) registered.push({ body, instance: await registry.register('provider', body) });
      // Kept alive past the stack's short lease, so they stay listed while the gateway is tried.
      heartbeats = setInterval(() => {
        for (const r of registered) {
          void registry
            .heartbeat('provider', r.instance.instance_id)
            .then(async (known) => (known ? undefined : (r.instance = await registry.register('provider', r.body))))
            .catch(() => undefined);
        }
      }, stack.heartbeatMs);
      const ports = await servicePorts();
      gateway = new ServiceProcess('gateway-allow-list', 'gateway', ports, {
        LOG_LEVEL: 'info',
        REGISTRY_URL: stack.registry.url,
        REGISTRY_TOKEN: stack.secrets.registryToken,
        GATEWAY_PORT: String(ports.port),
        UPSTREAM_ALLOW: '127.0.0.1/32',
        REGISTRY_WATCH_WAIT_MS: '5000',
        RATE_LIMIT_MAX: '1000000',
        CACHE_PREFIX: `lz:${stack.run}:allow:cache:`,
        RATE_LIMIT_PREFIX: `lz:${stack.run}:allow:rl:`,
      });
      await gateway.until('/health');
      // The registry has answered for both services (the refused instances were registered before the gateway started).
      await waitFor(
        async () => (await gateway.metric('gateway_upstream_instances')) >= 2,
        20_000,
        'the gateway to know the instances',
        100,
      );
    });

    afterAll(async () => {
      clearInterval(heartbeats);
      await gateway?.kill('SIGKILL');
      for (const r of registered) await registry.deregister('provider', r.instance.instance_id).catch(() => false);
      await registry?.close();
      for (const c of canaries) c.close();
    });

    it(
      'when provider instances are registered outside the allow-list or with a non-HTTP protocol, then REST ' +
        'and WebSocket traffic only reaches the real provider and the canaries never get a connection',
      async () => {
        for (let i = 0; i < 20; i++) {
          const res = await request(
            `${gateway.url}/prices/${SYMBOLS[i % SYMBOLS.length]}${i % 2 ? `?fresh=${i}` : ''}`,
          );
          await res.body.dump();
          expect(res.statusCode).toBe(200);
        }
        for (let i = 0; i < 3; i++) {
          const session = await request(`${gateway.url}/session`, { method: 'POST' });
          const { websocket_url } = (await session.body.json()) as { websocket_url: string };
          expect(websocket_url.startsWith(`ws://${gateway.address}/ws?`)).toBe(true);
          expect(await handshake(websocket_url, ALLOWED_ORIGIN)).toBe('open');
        }
        expect(canaryConnections).toBe(0);
        expect(await gateway.metric('gateway_upstream_refused_total')).toBe(3);
        expect(await gateway.metric('gateway_upstream_instances')).toBe(2); // the provider and ingestion
        expect(gateway.log.split('\n').filter((l) => l.includes('upstream instance refused'))).toHaveLength(3);
      },
    );
  });
});

// Scenario 8, start-up: a service given a bad or placeholder secret refuses to start and prints no part of it.
describe('secrets in configuration errors', () => {
  const refusals: [string, string, Record<string, string>, string, RegExp][] = [
    [
      'a too short SESSION_SECRET',
      'provider',
      { SESSION_SECRET: 'Zq7vK2pX9wL4mN3' },
      'Zq7vK2pX9wL4mN3',
      /SESSION_SECRET: Expected string length greater or equal to 16 \(got a value, masked\)/,
    ],
    [
      'a REDIS_URL with a password that fails its pattern',
      'gateway',
      { REDIS_URL: 'http://lizards:Pw9-kD2xQ7@127.0.0.1:6379' },
      'lizards:Pw9-kD2xQ7',
      /REDIS_URL: Expected string to match .* \(got "http:\/\/\*\*\*@127\.0\.0\.1:6379"\)/,
    ],
    [
      'the placeholder REGISTRY_TOKEN of .env.example',
      'registry',
      { REGISTRY_TOKEN: 'change-me-registry-token' },
      'change-me-registry-token',
      /REGISTRY_TOKEN: looks like a placeholder/,
    ],
    [
      'a DATABASE_URL with a placeholder password',
      'provider',
      {
        DATABASE_URL: 'postgres://lizards:change-me-db-9Fq@127.0.0.1:5432/test',
        SESSION_SECRET: 'Zq7vK2pX9wL4mN3-x8Yt',
      },
      'lizards:change-me-db-9Fq',
      /DATABASE_URL: the password in the URL looks like a placeholder/,
    ],
  ];

  // A process that wrongly starts is stopped here, whatever the test's outcome.
  const started: ServiceProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.kill()));
  });

  it.each(refusals)(
    'when %s is given to %s, then it exits 1 naming the variable and its rule, with no part of the secret in ' +
      'its output',
    async (_what, pkg, env, secret, message) => {
      const service = new ServiceProcess(pkg, pkg, await servicePorts(), { LOG_LEVEL: 'debug', ...env });
      started.push(service);
      expect(await service.exited).toBe(1);
      // 'exit' can come before the last output is read.
      await waitFor(() => message.test(service.log), 5000, `the message; output:\n${service.log}`);
      expect(secretParts(service.log, secret, 4)).toEqual([]);
    },
    60_000,
  );
});
