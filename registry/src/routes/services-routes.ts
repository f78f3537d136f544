import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  ErrorBody,
  Instance,
  REGISTRY_INDEX_HEADER,
  RegistrationBody,
  ServiceIdParam,
  ServiceList,
  ServiceView,
  type Instance as InstanceT,
  type RegistrationBody as RegistrationBodyT,
  withHeaders,
  RegistryFullError,
  ServiceFullError,
  TooManyWatchesError,
  UnknownInstanceError,
  UnknownServiceError,
  WatchesFullError,
} from '@lizards/lib';
import type { LeaseStore, ServiceSnapshot } from '../lease-store.js';
import type { RegistryMetrics } from '../registry-metrics.js';
import type { WatchQuota } from '../watch-quota.js';
import type { WriteAuthHook } from '../write-auth.js';

const ServiceParams = Type.Object({ serviceId: ServiceIdParam });
const InstanceParams = Type.Object({
  serviceId: ServiceIdParam,
  instanceId: Type.String({ minLength: 1, maxLength: 64 }),
});
const WatchQuery = Type.Object({
  index: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
  wait: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}(ms|s)?$', description: 'e.g. 30s, 500ms (max 5 min)' })),
});

const MAX_WAIT_MS = 300_000;
/** A slot frees when any held query is answered, which a change does at once: a short pause before asking again. */
const WATCH_RETRY_AFTER_S = 5;

function parseWait(wait: string | undefined): number {
  if (!wait) return 0;
  const n = Number.parseInt(wait, 10);
  return Math.min(MAX_WAIT_MS, wait.endsWith('ms') ? n : n * 1000);
}

const view = (s: ServiceSnapshot) => ({
  service_name: s.serviceId,
  instance_count: s.instances.length,
  registered_at: s.registeredAt,
  instances: s.instances,
});

export interface ServicesRoutesOptions {
  store: LeaseStore;
  metrics: RegistryMetrics;
  watches: WatchQuota;
  /** Retry-After of a registration refused at a cap: the lease TTL, within which a silent instance frees its slot. */
  capacityRetryAfterS: number;
  /** Checks the token of every write; undefined leaves writes open. */
  authorizeWrite?: WriteAuthHook | undefined;
}

/** The registry contract: register, heartbeat, deregister, resolve (with blocking queries), list. */
export async function servicesRoutes(
  app: FastifyInstance,
  { store, metrics, watches, capacityRetryAfterS, authorizeWrite }: ServicesRoutesOptions,
): Promise<void> {
  // On the route, not on the raw URL: the check follows whatever spelling of the path the router matched.
  const write = authorizeWrite ? { onRequest: authorizeWrite } : {};

  app.get('/services', { schema: { response: { 200: ServiceList } } }, async () => ({
    services: store
      .list()
      .map((s) => ({ service_name: s.serviceId, instance_count: s.instances.length, registered_at: s.registeredAt })),
  }));

  app.post<{ Params: { serviceId: string }; Body: RegistrationBodyT }>(
    '/services/:serviceId',
    {
      ...write,
      schema: { params: ServiceParams, body: RegistrationBody, response: { 200: Instance, 400: ErrorBody } },
    },
    async (request) => {
      const serviceId = request.params.serviceId;
      const result = store.register(serviceId, request.body);
      if ('refused' in result) {
        metrics.capacityRefusals.inc({ limit: result.refused });
        const refusal =
          result.refused === 'services'
            ? new RegistryFullError(result.limit)
            : new ServiceFullError(serviceId, result.limit);
        throw withHeaders(refusal, { 'retry-after': String(capacityRetryAfterS) });
      }
      const { instance, created } = result;
      if (created) {
        metrics.registrations.inc({ service_id: serviceId });
        request.log.info(
          { serviceId, instanceId: instance.instance_id, address: `${instance.ip_address}:${instance.port_number}` },
          'instance registered',
        );
      }
      return instance;
    },
  );

  app.put<{ Params: { serviceId: string; instanceId: string } }>(
    '/services/:serviceId/:instanceId/heartbeat',
    { ...write, logLevel: 'warn', schema: { params: InstanceParams, response: { 200: Instance, 404: ErrorBody } } },
    async (request): Promise<InstanceT> => {
      const { serviceId, instanceId } = request.params;
      const instance = store.heartbeat(serviceId, instanceId);
      if (!instance) throw new UnknownInstanceError(instanceId, serviceId);
      return instance;
    },
  );

  app.delete<{ Params: { serviceId: string; instanceId: string } }>(
    '/services/:serviceId/:instanceId',
    { ...write, schema: { params: InstanceParams, response: { 404: ErrorBody } } },
    async (request, reply) => {
      const { serviceId, instanceId } = request.params;
      if (!store.deregister(serviceId, instanceId)) throw new UnknownInstanceError(instanceId, serviceId);
      metrics.deregistrations.inc({ service_id: serviceId });
      request.log.info({ serviceId, instanceId }, 'instance deregistered');
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { serviceId: string }; Querystring: { index?: string; wait?: string } }>(
    '/services/:serviceId',
    { schema: { params: ServiceParams, querystring: WatchQuery, response: { 200: ServiceView, 404: ErrorBody } } },
    async (request, reply) => {
      const serviceId = request.params.serviceId;
      const waitMs = parseWait(request.query.wait);
      const index = Number(request.query.index);
      // Only a query that will really wait holds a socket, so only such a query takes a slot.
      if (request.query.index !== undefined && waitMs > 0 && store.indexOf(serviceId) <= index) {
        const slot = watches.tryAcquire(request.ip);
        if (slot !== 'ok') {
          metrics.capacityRefusals.inc({ limit: slot === 'client-limit' ? 'client_watches' : 'watches' });
          const refusal =
            slot === 'client-limit' ? new TooManyWatchesError(watches.perClient) : new WatchesFullError(watches.max);
          throw withHeaders(refusal, { 'retry-after': String(WATCH_RETRY_AFTER_S) });
        }
        const abort = new AbortController();
        request.raw.once('close', () => abort.abort());
        try {
          await store.waitForChange(serviceId, index, waitMs, abort.signal);
        } finally {
          watches.release(request.ip);
        }
      }
      reply.header(REGISTRY_INDEX_HEADER, String(store.indexOf(serviceId)));
      const snapshot = store.get(serviceId);
      if (!snapshot) throw new UnknownServiceError(serviceId);
      return view(snapshot);
    },
  );
}
