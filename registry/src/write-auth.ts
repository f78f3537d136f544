import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError, withHeaders } from '@lizards/lib';

export interface WriteAuthOptions {
  /** Writes any service (REGISTRY_TOKEN). */
  adminToken?: string | undefined;
  /** Service id → the token that may write that service only (REGISTRY_SERVICE_TOKENS). */
  serviceTokens?: Record<string, string> | undefined;
}

/** Checks one write request; throws 401/403. */
export type WriteAuthHook = (request: FastifyRequest) => Promise<void>;

/** 401 with the challenge RFC 6750 asks for. */
const unauthorized = () =>
  withHeaders(new UnauthorizedError(), { 'www-authenticate': 'Bearer realm="lizards-registry"' });

// Digests have one length, so the comparison takes the same time whatever the length of what was sent.
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The `onRequest` hook of every write route: the bearer token must be the admin token, or the token of the service
 * the matched route writes (its `serviceId` parameter, as the router decoded it). Being a route hook, it runs for
 * whatever spelling of the path the router matched. Undefined when no token is configured (a loopback-only registry).
 */
export function writeAuthHook({ adminToken, serviceTokens = {} }: WriteAuthOptions): WriteAuthHook | undefined {
  const services = Object.entries(serviceTokens).map(([serviceId, token]) => ({ serviceId, token: digest(token) }));
  if (!adminToken && services.length === 0) return undefined;
  const admin = adminToken ? digest(adminToken) : undefined;
  return async (request) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) throw unauthorized();
    const given = digest(header.slice('Bearer '.length));
    if (admin && timingSafeEqual(given, admin)) return;
    const { serviceId } = request.params as { serviceId?: string };
    // Every entry is compared, so the time taken does not tell which service a token belongs to.
    let own = false;
    let known = false;
    for (const s of services) {
      const match = timingSafeEqual(given, s.token);
      known ||= match;
      own ||= match && s.serviceId === serviceId;
    }
    if (own) return;
    if (known) throw new ForbiddenError(serviceId ?? '');
    throw unauthorized();
  };
}
