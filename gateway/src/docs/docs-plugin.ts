import type { TSchema } from '@sinclair/typebox';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { RouteEntry } from '../routes/route-table.js';
import { asyncApiDocument } from './asyncapi-document.js';
import { documentProxiedRoutes, upstreamPaths, UPSTREAM_OPERATIONS, type OpenApiPaths } from './upstream-openapi.js';

export interface DocsOptions {
  /** The gateway's route table: what the OpenAPI document lists. */
  routes: RouteEntry[];
}

const VERSION = '0.1.0';
const OPENAPI_VERSION = '3.1.0';
/** The rate-limit group of the docs: a page load is a handful of requests, and they do not spend the API's budget. */
export const DOCS_RATE_LIMIT_GROUP = 'docs';

/**
 * API docs on the public port: Swagger UI at /docs over the OpenAPI document of every public route (/docs/json,
 * /docs/yaml), proxied routes described by their services' own schemas, and the WebSocket protocol as AsyncAPI 3.0
 * at /docs/asyncapi.json. The UI's assets come from @fastify/swagger-ui itself.
 */
async function docs(app: FastifyInstance, opts: DocsOptions): Promise<void> {
  const upstream = await upstreamPaths(UPSTREAM_OPERATIONS, OPENAPI_VERSION);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: OPENAPI_VERSION,
      info: {
        title: 'Lizards gateway',
        version: VERSION,
        description:
          'Public REST and WebSocket routes of the Lizards stock price tracker. The messages of the WebSocket ' +
          'at `/ws` are described by an AsyncAPI 3.0 document: [/docs/asyncapi.json](/docs/asyncapi.json).',
      },
    },
    transformObject: (document) =>
      documentProxiedRoutes((document as { openapiObject: OpenApiPaths }).openapiObject, opts.routes, upstream),
  });

  const wsRoute = opts.routes.find((r) => r.websocket && r.service === 'provider');
  const wsQuery = UPSTREAM_OPERATIONS.provider?.find((op) => op.url === wsRoute?.path)?.schema.querystring;
  const asyncapi = asyncApiDocument({ route: wsRoute, query: wsQuery as TSchema | undefined, version: VERSION });

  await app.register(async (scope) => {
    // Resolved at the first request: the rate-limit plugin is registered after this one.
    let limit: onRequestHookHandler | undefined;
    scope.addHook('onRequest', function (request, reply, done) {
      limit ??= app.rateLimitHook(DOCS_RATE_LIMIT_GROUP);
      limit.call(this, request, reply, done);
    });
    // The documents follow the route table and the release: never kept without asking again. The UI's assets keep
    // @fastify/static's validators (ETag, Last-Modified; max-age=0).
    scope.addHook('onSend', async (_request, reply, payload) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-cache');
      return payload;
    });
    scope.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => asyncapi);
    await scope.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  });
}

export const docsPlugin = fp(docs, { name: 'lizards-gateway-docs', fastify: '5.x' });
