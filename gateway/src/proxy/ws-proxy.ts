import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import WebSocket, { type RawData } from 'ws';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { RouteEntry } from '../routes/route-table.js';
import type { Balancer, Upstream } from '../upstreams/balancer.js';
import { forwardedRequestHeaders } from './forwarded-headers.js';
import type { HeaderMap } from './hop-by-hop.js';
import { stripHopByHop } from './hop-by-hop.js';
import { tryInstances } from './try-instances.js';

/** Relay pauses reading one side while the other has this much unsent. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 16;

/** Sub-protocol the upstream accepted, read by the gateway's WebSocket server when it answers the client. */
export const kUpstreamProtocol = Symbol('lizards.upstreamProtocol');

interface OpenedUpstream {
  socket: WebSocket;
  upstream: Upstream;
  /** Frames the upstream sent before the client socket was ready. */
  early: { data: RawData; isBinary: boolean }[];
}

const opened = new WeakMap<FastifyRequest, OpenedUpstream>();

type HandshakeOutcome =
  | { kind: 'open' }
  | { kind: 'response'; status: number; headers: HeaderMap; body: Buffer }
  | { kind: 'error'; error: Error };

/** How the tries ended: the upstream socket is open, the upstream refused the handshake, or the client left. */
type WsOutcome = Exclude<HandshakeOutcome, { kind: 'error' }> | { kind: 'abandoned' };

function handshake(socket: WebSocket): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ kind: 'open' }));
    socket.once('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // With this listener, ending the refused handshake is ours to do.
        req.destroy();
        resolve({ kind: 'response', status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (error) => resolve({ kind: 'error', error }));
    });
    socket.once('error', (error) => resolve({ kind: 'error', error }));
  });
}

/** Codes a peer may send in a close frame (1005/1006/1015 only describe what happened locally). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);
}

function pipeFrames(from: WebSocket, to: WebSocket): void {
  from.on('message', (data, isBinary) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < LOW_WATER) from.resume();
    });
    if (to.bufferedAmount > HIGH_WATER) from.pause();
  });
}

export interface WsProxyOptions {
  route: RouteEntry;
  balancer: Balancer;
  metrics: GatewayMetrics;
  retryAfterMs: number;
}

/** Whether the client is gone: its socket closed, or it can send nothing more (a FIN left it half-open). */
function clientLeft(socket: Socket): boolean {
  return socket.destroyed || !socket.readable;
}

/**
 * preHandler of the WebSocket route: opens the upstream socket before the client's upgrade is accepted, so
 * a refused handshake (401, 403, 503...) reaches the client as the same HTTP answer. A connection that fails is
 * retried once on another instance. A client that leaves during the upstream handshake takes the upstream socket
 * with it.
 */
export function openUpstream(opts: WsProxyOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.ws) return;
    const { route, balancer, metrics } = opts;
    const client = request.raw.socket;
    const abandoned = () => {
      client.destroy();
      metrics.wsSessions.inc({ outcome: 'abandoned' });
      reply.hijack();
    };
    const headers = forwardedRequestHeaders(request);
    for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
    const protocols = (request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const target = request.gatewayTarget;
    const pathAndQuery = `${target.path}${target.query ? `?${target.query}` : ''}`;
    const reach = { serviceId: route.service, balancer, metrics, retryAfterMs: opts.retryAfterMs };
    const tries = tryInstances<WsOutcome>(reach, {
      abandoned: () => (clientLeft(client) ? { kind: 'abandoned' } : undefined),
      run: async (upstream, answered) => {
        request.gatewayUpstream = upstream.address;
        // The origin, not the address: it brackets an IPv6 host.
        const socket = new WebSocket(`ws${upstream.origin.slice('http'.length)}${pathAndQuery}`, protocols, {
          headers: headers as Record<string, string>,
          handshakeTimeout: route.timeoutMs,
          perMessageDeflate: false,
          lookup: upstream.lookup,
        });
        socket.on('error', (err) => request.log.debug({ err, upstream: upstream.address }, 'upstream websocket error'));
        const early: OpenedUpstream['early'] = [];
        const collect = (data: RawData, isBinary: boolean) => early.push({ data, isBinary });
        socket.on('message', collect);
        const leave = () => socket.terminate();
        client.on('end', leave).on('close', leave);
        const outcome = await handshake(socket);
        client.off('end', leave).off('close', leave);
        if (clientLeft(client)) {
          socket.terminate();
          return { kind: 'abandoned' };
        }
        if (outcome.kind === 'error') throw outcome.error;
        answered(outcome.kind === 'open' ? 101 : outcome.status);
        if (outcome.kind === 'response') return outcome;
        (request.raw as unknown as Record<symbol, unknown>)[kUpstreamProtocol] = socket.protocol;
        opened.set(request, { socket, upstream, early });
        // The client's upgrade can still fail (then the relay never starts): do not leave the upstream open.
        request.raw.socket.once('close', () => {
          if (opened.delete(request)) socket.terminate();
        });
        return outcome;
      },
      // The handshake is a GET: a failed one may go to another instance.
      retriable: () => true,
    });
    const outcome = await tries.catch((err: unknown) => {
      metrics.wsSessions.inc({ outcome: 'unavailable' });
      throw err;
    });
    if (outcome.kind === 'abandoned') return abandoned();
    if (outcome.kind === 'response') {
      metrics.wsSessions.inc({ outcome: 'refused' });
      const relayed = stripHopByHop(outcome.headers);
      delete relayed['content-length'];
      return reply.code(outcome.status).headers(relayed).send(outcome.body);
    }
  };
}

/** The WebSocket handler: relays frames unchanged both ways and mirrors a close of either side. */
export function relaySockets(opts: WsProxyOptions) {
  return (client: WebSocket, request: FastifyRequest): void => {
    const entry = opened.get(request);
    if (!entry) {
      client.close(1011, 'upstream not connected');
      return;
    }
    opened.delete(request);
    const { socket: upstream, early } = entry;
    const { metrics } = opts;
    metrics.wsConnections.inc();
    upstream.removeAllListeners('message');
    if (upstream.readyState !== WebSocket.OPEN) {
      metrics.wsConnections.dec();
      metrics.wsSessions.inc({ outcome: 'upstream_lost' });
      client.close(1012, 'upstream connection lost');
      return;
    }
    for (const frame of early) client.send(frame.data, { binary: frame.isBinary });
    pipeFrames(upstream, client);
    pipeFrames(client, upstream);

    let ended = false;
    const end = (outcome: string) => {
      if (ended) return;
      ended = true;
      metrics.wsConnections.dec();
      metrics.wsSessions.inc({ outcome });
    };
    client.on('close', (code, reason) => {
      end('closed');
      if (upstream.readyState === WebSocket.CLOSED || upstream.readyState === WebSocket.CLOSING) return;
      if (sendable(code)) upstream.close(code, reason);
      else if (code === 1005) upstream.close();
      else upstream.terminate();
    });
    upstream.on('close', (code, reason) => {
      end(code === 1006 ? 'upstream_lost' : 'closed');
      if (client.readyState === WebSocket.CLOSED || client.readyState === WebSocket.CLOSING) return;
      if (sendable(code)) client.close(code, reason);
      else if (code === 1005) client.close();
      // Died without a close frame: 1012 tells the client to reconnect (it will reach another instance).
      else client.close(1012, 'upstream connection lost');
    });
    client.on('error', (err) => request.log.debug({ err }, 'client websocket error'));
  };
}
