import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { InvalidRouteTableError } from '@lizards/lib';

const Method = Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)));

/** One public route: where it goes and how it is treated on the way. */
export const RouteEntry = Type.Object(
  {
    path: Type.String({
      pattern: '^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+(/\\*)?$',
      description: 'exact path, or a prefix ending in /*',
    }),
    methods: Type.Array(Method, { minItems: 1, uniqueItems: true }),
    service: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description: 'registry service id' }),
    websocket: Type.Boolean({ default: false }),
    timeoutMs: Type.Integer({ minimum: 1, description: 'upstream timeout (headers, then between body chunks)' }),
    cacheable: Type.Boolean({ default: false }),
    cacheTtlMs: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'TTL when the upstream sends no max-age/s-maxage',
    }),
    rateLimitGroup: Type.String({ minLength: 1, default: 'default' }),
    summary: Type.String({ default: '' }),
  },
  { additionalProperties: false },
);
export type RouteEntry = Static<typeof RouteEntry>;

/** A GATEWAY_ROUTES item: changes the route with the same path, adds a new one, or removes it. */
const RouteOverride = Type.Object(
  {
    ...Type.Partial(Type.Omit(RouteEntry, ['path'])).properties,
    path: Type.String(),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const RouteOverrides = Type.Array(RouteOverride);

/** The public routes of the Lizards gateway; `timeoutMs` comes from UPSTREAM_TIMEOUT_MS. */
export function defaultRouteTable(timeoutMs: number): RouteEntry[] {
  const route = (r: Partial<RouteEntry> & Pick<RouteEntry, 'path' | 'methods' | 'service'>): RouteEntry => ({
    websocket: false,
    timeoutMs,
    cacheable: false,
    cacheTtlMs: 0,
    rateLimitGroup: 'default',
    summary: '',
    ...r,
  });
  return [
    route({
      path: '/session',
      methods: ['POST'],
      service: 'provider',
      rateLimitGroup: 'session',
      summary: 'Open a session: returns the websocket_url to connect to',
    }),
    route({
      path: '/prices/*',
      methods: ['GET', 'HEAD'],
      service: 'provider',
      cacheable: true,
      cacheTtlMs: 1000,
      summary:
        'Latest price, history and candles of a symbol ' +
        '(/prices/:symbol, /prices/:symbol/history, /prices/:symbol/candles)',
    }),
    route({
      path: '/symbols',
      methods: ['GET', 'HEAD'],
      service: 'provider',
      cacheable: true,
      cacheTtlMs: 30_000,
      summary: 'Known symbols',
    }),
    route({
      path: '/ws',
      methods: ['GET'],
      service: 'provider',
      websocket: true,
      rateLimitGroup: 'websocket',
      summary: 'WebSocket: subscribe/unsubscribe, price_update',
    }),
    route({
      path: '/sources',
      methods: ['GET', 'HEAD'],
      service: 'ingestion',
      cacheable: true,
      cacheTtlMs: 30_000,
      summary: 'Configured price sources',
    }),
    route({
      path: '/sources/status',
      methods: ['GET', 'HEAD'],
      service: 'ingestion',
      cacheable: true,
      cacheTtlMs: 2000,
      summary: 'Health of each price source',
    }),
  ];
}

function describeErrors(schema: Parameters<typeof Value.Errors>[0], value: unknown): string {
  return [...Value.Errors(schema, value)].map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ');
}

/** The default table with the GATEWAY_ROUTES overrides (a JSON array) merged in by path. */
export function buildRouteTable(defaults: RouteEntry[], overridesJson?: string): RouteEntry[] {
  const table = new Map(defaults.map((r) => [r.path, r]));
  if (overridesJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(overridesJson);
    } catch (err) {
      throw new InvalidRouteTableError(`GATEWAY_ROUTES is not JSON (${(err as Error).message})`);
    }
    if (!Value.Check(RouteOverrides, parsed)) throw new InvalidRouteTableError(describeErrors(RouteOverrides, parsed));
    for (const { disabled, ...override } of parsed) {
      if (disabled) {
        table.delete(override.path);
        continue;
      }
      const merged = Value.Default(RouteEntry, {
        timeoutMs: defaults[0]?.timeoutMs,
        ...table.get(override.path),
        ...override,
      });
      if (!Value.Check(RouteEntry, merged))
        throw new InvalidRouteTableError(`${override.path}: ${describeErrors(RouteEntry, merged)}`);
      table.set(override.path, merged);
    }
  }
  for (const route of table.values()) {
    if (route.websocket && (route.methods.length !== 1 || route.methods[0] !== 'GET')) {
      throw new InvalidRouteTableError(`${route.path}: a websocket route takes GET only`);
    }
  }
  return [...table.values()];
}

/** True when a normalised path is covered by the route's exact path or prefix. */
export function routeCovers(route: RouteEntry, path: string): boolean {
  if (!route.path.endsWith('/*')) return path === route.path;
  return path.startsWith(route.path.slice(0, -1));
}

/** The distinct service ids the table routes to. */
export function servicesOf(table: RouteEntry[]): string[] {
  return [...new Set(table.map((r) => r.service))];
}
