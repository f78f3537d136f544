import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifySchema, type HTTPMethods } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { ingestionOperations, providerOperations } from '@lizards/contract';
import { routeCovers, type RouteEntry } from '../routes/route-table.js';

/** A route of a service as the service registers it. */
export interface UpstreamOperation {
  method: HTTPMethods;
  url: string;
  schema: FastifySchema;
}

type Response = { description?: string };
type Operation = { summary?: string; description?: string; tags?: string[]; responses?: Record<string, Response> };
type PathItem = Record<string, Operation>;
export interface OpenApiPaths {
  paths?: Record<string, PathItem>;
  components?: { schemas?: Record<string, unknown> };
}
/** The OpenAPI paths of each service's routes, by service id. */
export type UpstreamPaths = Map<string, OpenApiPaths>;

/** The public routes of the services behind the gateway (the contract's: the services register them as they are). */
export const UPSTREAM_OPERATIONS: Record<string, readonly UpstreamOperation[]> = {
  provider: providerOperations,
  ingestion: ingestionOperations,
};

/**
 * Each service's routes as OpenAPI, made by @fastify/swagger from the services' own route schemas (as the
 * gateway's own document is): a Fastify instance that only holds the routes, never listens and is closed at once.
 */
export async function upstreamPaths(
  services: Record<string, readonly UpstreamOperation[]>,
  openapi: string,
): Promise<UpstreamPaths> {
  const documents: UpstreamPaths = new Map();
  for (const [service, operations] of Object.entries(services)) {
    const app = Fastify({ logger: false });
    await app.register(fastifySwagger, { openapi: { openapi, info: { title: service, version: '0' } } });
    for (const { method, url, schema } of operations) {
      app.route({ method, url, schema, handler: async () => undefined });
    }
    await app.ready();
    documents.set(service, app.swagger() as OpenApiPaths);
    await app.close();
  }
  return documents;
}

/** The URL of a gateway route as @fastify/swagger writes it (`/prices/*` → `/prices/{*}`). */
const openApiUrl = (path: string) => path.replace(/\*$/, '{*}');

/**
 * Replaces each proxied route's generic entry in the gateway's document by the operations of its service that it
 * covers (`/prices/*` becomes `/prices/{symbol}`, `/prices/{symbol}/history`, ...): their parameters and answers,
 * plus the gateway's own (rate limit, no instance, timeouts) and its description. A route whose service's
 * operations are not known (a GATEWAY_ROUTES addition) keeps its generic entry.
 */
export function documentProxiedRoutes<D extends OpenApiPaths>(
  doc: D,
  routes: RouteEntry[],
  upstream: UpstreamPaths,
): D {
  const paths = (doc.paths ??= {});
  for (const route of routes) {
    const generic = paths[openApiUrl(route.path)];
    const service = upstream.get(route.service);
    if (!generic || !service?.paths) continue;
    const covered = Object.entries(service.paths).filter(([url]) => routeCovers(route, url));
    if (covered.length === 0) continue;
    delete paths[openApiUrl(route.path)];
    for (const [url, item] of covered) {
      for (const method of route.methods.map((m) => m.toLowerCase())) {
        const own = generic[method];
        const theirs = item[method] ?? (method === 'head' ? item.get : undefined);
        if (!own || !theirs) continue;
        (paths[url] ??= {})[method] = merged(own, theirs, route);
      }
    }
    Object.assign(((doc.components ??= {}).schemas ??= {}), service.components?.schemas);
  }
  return doc;
}

function merged(own: Operation, theirs: Operation, route: RouteEntry): Operation {
  const responses: Record<string, Response> = { ...own.responses };
  for (const [status, response] of Object.entries(theirs.responses ?? {})) {
    // @fastify/swagger's placeholder when a schema has no description.
    const description =
      response.description === 'Default Response' ? (STATUS_CODES[status] ?? status) : response.description;
    const gateways = own.responses?.[status];
    // Both may answer with the status: the gateway's error body is the more general one (its `code` is optional).
    responses[status] = gateways
      ? { ...gateways, description: `${description} (${route.service}); ${gateways.description} (gateway)` }
      : { ...response, description };
  }
  if (route.websocket) {
    responses['101'] = { description: 'Switching Protocols: the socket is open (messages: /docs/asyncapi.json)' };
    delete responses['200'];
  }
  return { ...theirs, summary: theirs.summary ?? own.summary, description: own.description, tags: own.tags, responses };
}
