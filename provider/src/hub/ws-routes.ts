import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { wsOperation } from '@lizards/contract';
import { InvalidSessionError, OriginNotAllowedError, SessionSocketsExhaustedError } from '@lizards/lib';
import { SessionSockets } from '../session/session-sockets.js';
import type { SessionTokens } from '../session/session-token.js';
import type { Hub } from './hub.js';

export interface WsRoutesOptions {
  hub: Hub;
  tokens: SessionTokens;
  /** false = the socket is open to anyone (WS_AUTH=off). */
  requireToken: boolean;
  /** Allowed Origin values; empty = any. */
  allowedOrigins: string[];
  /** Open sockets one session may hold on this instance (with requireToken). */
  maxConnectionsPerSession: number;
  /** Frames above this close the socket (1009); smaller oversize messages get an error from the hub. */
  maxPayload: number;
}

async function wsRoutes(app: FastifyInstance, opts: WsRoutesOptions): Promise<void> {
  await app.register(websocket, {
    // No permessage-deflate: one serialized update is sent as is to every client that gets it.
    options: { maxPayload: opts.maxPayload, perMessageDeflate: false },
    // Clients get a reconnect hint before the close, instead of a bare close.
    preClose: (done) => {
      opts.hub.shutdown();
      done();
    },
  });
  const allowed = new Set(opts.allowedOrigins);
  const sessions = new SessionSockets(opts.maxConnectionsPerSession);

  app.get<{ Querystring: { token?: string } }>(
    wsOperation.url,
    {
      websocket: true,
      schema: wsOperation.schema,
      preValidation: async (request) => {
        const origin = request.headers.origin;
        if (allowed.size > 0 && (!origin || !allowed.has(origin))) throw new OriginNotAllowedError(origin ?? '(none)');
        if (!opts.requireToken) return;
        // The token is checked once, here: an open socket outlives it.
        const claims = opts.tokens.verify(request.query.token);
        if (!claims) throw new InvalidSessionError();
        if (!sessions.admit(claims.sid, request.raw.socket))
          throw new SessionSocketsExhaustedError(sessions.maxPerSession);
      },
    },
    (socket, request) => {
      opts.hub.attach(socket, request.raw.socket);
    },
  );
}

/** `GET /ws`: the WebSocket hub behind Origin, session-token and sockets-per-session checks. */
export const wsRoutesPlugin = fp(wsRoutes, { name: 'provider-ws-routes', fastify: '5.x' });
