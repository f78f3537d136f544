import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fp from 'fastify-plugin';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { InvalidRateLimitGroupsError, RateLimitedError, withHeaders } from '@lizards/lib';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { fallbackStore } from './fallback-store.js';

export interface GroupLimit {
  max: number;
  windowMs: number;
}

const GroupLimits = Type.Record(
  Type.String({ minLength: 1 }),
  Type.Object(
    { max: Type.Optional(Type.Integer({ minimum: 1 })), windowMs: Type.Optional(Type.Integer({ minimum: 1 })) },
    { additionalProperties: false },
  ),
);
type GroupLimits = Static<typeof GroupLimits>;

/** The per-group overrides of RATE_LIMIT_GROUPS (`{"session":{"max":10,"windowMs":60000}}`), checked at start. */
export function parseGroupLimits(json: string | undefined): GroupLimits {
  if (!json) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new InvalidRateLimitGroupsError(`not JSON (${(err as Error).message})`);
  }
  if (!Value.Check(GroupLimits, parsed)) {
    throw new InvalidRateLimitGroupsError(
      [...Value.Errors(GroupLimits, parsed)].map((e) => `${e.path || '(root)'}: ${e.message}`).join('; '),
    );
  }
  return parsed;
}

export interface RateLimitPluginOptions {
  defaults: GroupLimit;
  /** Limits of named route groups; other groups use `defaults`. */
  groups: GroupLimits;
  redis?: Redis | undefined;
  prefix: string;
  /** How often counts admitted on a replica's local view are added to Redis; 0 = a Redis round trip per request. */
  syncMs: number;
  /** API keys that get a bucket of their own; any other request is counted by client IP. */
  apiKeys: string[];
  metrics: GatewayMetrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** An onRequest hook enforcing the limit of a route group (429 with RateLimit-* and Retry-After). */
    rateLimitHook(group: string): onRequestHookHandler;
  }
}

/** A listed API key's own bucket; otherwise the client IP's (a made-up key must not buy a fresh bucket). */
function clientKey(request: FastifyRequest, apiKeys: ReadonlySet<string>): string {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKeys.has(apiKey)) {
    // Hashed so raw keys never sit in Redis.
    return `key:${createHash('sha256').update(apiKey).digest('hex').slice(0, 32)}`;
  }
  return `ip:${request.ip}`;
}

async function rateLimitPlugin(app: FastifyInstance, opts: RateLimitPluginOptions): Promise<void> {
  const store = fallbackStore({ redis: opts.redis, prefix: opts.prefix, syncMs: opts.syncMs, log: app.log });
  await app.register(fastifyRateLimit, { global: false, store: store.Store as never });
  app.addHook('onClose', store.close);
  const apiKeys = new Set(opts.apiKeys);
  const limiters = new Map<string, ReturnType<FastifyInstance['createRateLimit']>>();
  const limiterOf = (group: string) => {
    let limiter = limiters.get(group);
    if (!limiter) {
      const limit = { ...opts.defaults, ...opts.groups[group] };
      limiter = app.createRateLimit({
        max: limit.max,
        timeWindow: limit.windowMs,
        keyGenerator: (request) => `${group}:${clientKey(request, apiKeys)}`,
      });
      limiters.set(group, limiter);
    }
    return limiter;
  };

  app.decorate('rateLimitHook', (group: string): onRequestHookHandler => {
    const limiter = limiterOf(group);
    // Callback style: the limiter's promise is the only one made per request.
    return (request, reply, done) => {
      limiter(request).then((result) => {
        if (result.isAllowed) return done();
        const resetS = Math.max(1, result.ttlInSeconds);
        reply.header('ratelimit-limit', result.max);
        reply.header('ratelimit-remaining', result.isExceeded ? 0 : result.remaining);
        reply.header('ratelimit-reset', resetS);
        if (!result.isExceeded) return done();
        opts.metrics.rateLimited.inc({ group });
        done(withHeaders(new RateLimitedError(resetS), { 'retry-after': String(resetS) }));
      }, done);
    };
  });
}

/** Rate limits per route group and client (IP, or a listed API key), counted in Redis across replicas. */
export const gatewayRateLimit = fp(rateLimitPlugin, { name: 'lizards-gateway-rate-limit', fastify: '5.x' });
