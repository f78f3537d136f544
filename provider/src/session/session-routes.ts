import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sessionOperation } from '@lizards/contract';
import type { SessionTokens } from './session-token.js';

export interface SessionRoutesOptions {
  tokens: SessionTokens;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

/** The URL the client can reach: through the gateway when it forwarded the request. */
function publicWebSocketBase(request: FastifyRequest): string {
  const host = firstHeader(request.headers['x-forwarded-host']) ?? request.headers.host ?? 'localhost';
  const proto = firstHeader(request.headers['x-forwarded-proto']) ?? request.protocol;
  return `${proto === 'https' || proto === 'wss' ? 'wss' : 'ws'}://${host}`;
}

async function sessionRoutes(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  app.post(sessionOperation.url, { schema: sessionOperation.schema }, async (request, reply) => {
    const { token } = opts.tokens.issue();
    reply.header('cache-control', 'no-store');
    return { websocket_url: `${publicWebSocketBase(request)}/ws?token=${encodeURIComponent(token)}` };
  });
}

/** `POST /session`: a WebSocket URL carrying a signed, expiring token. */
export const sessionRoutesPlugin = fp(sessionRoutes, { name: 'provider-session-routes', fastify: '5.x' });
