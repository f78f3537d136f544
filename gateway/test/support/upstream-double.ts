import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import { RegistryClient } from '@lizards/lib';

/**
 * A stand-in for a provider/ingestion instance: registers itself with the registry and heartbeats; answers
 * with its own id; can be told (by query) to fail, hang, or set Cache-Control; serves a WebSocket that speaks
 * the provider's subscribe / price_update / unsubscribe messages.
 */
export interface UpstreamDouble {
  id: string;
  app: FastifyInstance;
  port: number;
  address: string;
  instanceId: string;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  totalHits(): number;
  /** Close code and reason of every WebSocket that ended, as this instance saw it. */
  wsCloses: { code: number; reason: string }[];
  /** How every HTTP request is answered: normally, with 503, or never. */
  mode: 'ok' | 'fail' | 'hang';
  /** Dies as a killed process would: sockets reset, no deregistration, heartbeats stop. */
  kill(): Promise<void>;
  /** Deregisters and closes. */
  stop(): Promise<void>;
}

const PRICES: Record<string, number> = { AAPL: 150.23, TSLA: 251.1, MSFT: 410.5 };

export async function startUpstream(opts: {
  id: string;
  registryUrl: string;
  serviceId?: string;
  port?: number;
  heartbeatMs?: number;
  /** Address to listen on and register (default 127.0.0.1; '::1' for an IPv6 instance). */
  host?: string;
  /** Address to register instead of `host` (e.g. a host name). */
  advertise?: string;
}): Promise<UpstreamDouble> {
  const host = opts.host ?? '127.0.0.1';
  const serviceId = opts.serviceId ?? 'provider';
  const hits = new Map<string, number>();
  const double = { mode: 'ok', wsCloses: [] as UpstreamDouble['wsCloses'] } as UpstreamDouble;
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(fastifyWebsocket);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
  });

  const answer = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const q = request.query as Record<string, string | undefined>;
    if (double.mode === 'hang' || q.hang) return new Promise(() => undefined);
    if (double.mode === 'fail') return reply.code(503).send({ instance: opts.id, error: 'failing on purpose' });
    // The request arrived, then the connection breaks before any answer.
    if (q.destroy) {
      request.raw.socket.destroy();
      return new Promise(() => undefined);
    }
    if (q.delayMs) await new Promise((r) => setTimeout(r, Number(q.delayMs)));
    if (q.cc) reply.header('cache-control', q.cc);
    if (q.cookie) reply.header('set-cookie', `session=${q.cookie}-${hits.get(request.url.split('?')[0]!)}`);
    if (q.vary) reply.header('vary', q.vary);
    // A new connection for the next request.
    if (q.close) reply.header('connection', 'close');
    if (q.hop) {
      reply.header('connection', 'x-secret-hop, keep-alive');
      reply.header('keep-alive', 'timeout=5');
      reply.header('x-secret-hop', 'must not pass');
      reply.header('proxy-authenticate', 'Basic');
      reply.header('x-end-to-end', 'kept');
    }
    reply.code(q.status ? Number(q.status) : 200);
    return {
      instance: opts.id,
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: request.body ?? null,
      n: hits.get(request.url.split('?')[0]!),
    };
  };
  app.get('/prices/*', answer);
  app.get('/symbols', answer);
  app.get('/sources', answer);
  app.get('/sources/status', answer);
  app.get('/admin', answer);
  app.post('/session', answer);

  app.get(
    '/ws',
    {
      websocket: true,
      preValidation: async (request, reply) => {
        if ((request.query as { token?: string }).token !== 'good')
          return reply.code(401).send({ error: 'Unauthorized', message: 'invalid session token' });
      },
    },
    (socket, request) => {
      socket.on('close', (code, reason) => double.wsCloses.push({ code, reason: reason.toString() }));
      socket.send(
        JSON.stringify({
          type: 'hello',
          instance: opts.id,
          origin: request.headers.origin ?? null,
          forwardedFor: request.headers['x-forwarded-for'] ?? null,
        }),
      );
      socket.on('message', (data, isBinary) => {
        if (isBinary) return socket.send(data, { binary: true });
        const msg = JSON.parse(data.toString()) as { type: string; symbols?: string[]; code?: number; reason?: string };
        if (msg.type === 'subscribe') {
          const accepted = (msg.symbols ?? []).filter((s) => s in PRICES);
          const rejected = (msg.symbols ?? []).filter((s) => !(s in PRICES));
          for (const s of rejected)
            socket.send(JSON.stringify({ type: 'error', message: `Invalid stock symbol: ${s}` }));
          socket.send(
            JSON.stringify({
              type: 'subscribed',
              symbols: accepted,
              rejected: rejected.map((symbol) => ({ symbol, reason: 'unknown symbol' })),
            }),
          );
          const data = Object.fromEntries(
            accepted.map((s) => [s, { price: PRICES[s], timestamp: '2024-09-14T12:34:56Z' }]),
          );
          if (accepted.length > 0) socket.send(JSON.stringify({ type: 'price_update', data, cursor: '42' }));
        } else if (msg.type === 'unsubscribe') {
          socket.send(JSON.stringify({ type: 'unsubscribed', symbols: msg.symbols ?? [] }));
        } else if (msg.type === 'close') {
          socket.close(msg.code, msg.reason);
        } else {
          socket.send(JSON.stringify({ type: 'error', message: `Unknown message type: ${msg.type}` }));
        }
      });
    },
  );

  await app.listen({ host, port: opts.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  const registry = new RegistryClient({ url: opts.registryUrl });
  const registration = {
    name: opts.id,
    ip_address: opts.advertise ?? host,
    port_number: port,
    protocol: 'http' as const,
  };
  let instance = await registry.register(serviceId, registration);
  let beating = true;
  const timer = setInterval(() => {
    if (!beating) return;
    // As the real Registrar does: a registry that forgot us (restart, eviction) gets a new registration.
    void registry
      .heartbeat(serviceId, instance.instance_id)
      .then(async (known) => {
        if (!known && beating) instance = await registry.register(serviceId, registration);
      })
      .catch(() => undefined);
  }, opts.heartbeatMs ?? 200);

  const total = () => [...hits.values()].reduce((a, b) => a + b, 0);
  Object.assign(double, {
    id: opts.id,
    app,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    hits,
    totalHits: total,
    async kill() {
      beating = false;
      clearInterval(timer);
      for (const client of app.websocketServer.clients) client.terminate();
      app.server.closeAllConnections();
      await app.close();
      await registry.close();
    },
    async stop() {
      beating = false;
      clearInterval(timer);
      await registry.deregister(serviceId, instance.instance_id).catch(() => false);
      await registry.close();
      await app.close();
    },
  });
  Object.defineProperty(double, 'instanceId', { get: () => instance.instance_id });
  return double;
}
