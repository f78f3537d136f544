import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  Instance,
  REGISTRY_INDEX_HEADER,
  RegistrationBody,
  ServiceIdParam,
  ServiceList,
  ServiceView,
  type Instance as InstanceT,
  type RegistrationBody as RegistrationBodyT,
} from '@lizards/lib';
import { UnknownInstanceError, UnknownServiceError } from '../errors.js';
import type { LeaseStore, ServiceSnapshot } from '../lease-store.js';
import type { RegistryMetrics } from '../registry-metrics.js';

const ErrorReply = Type.Object({ error: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) });
const ServiceParams = Type.Object({ serviceId: ServiceIdParam });
const InstanceParams = Type.Object({ serviceId: ServiceIdParam, instanceId: Type.String({ minLength: 1, maxLength: 64 }) });
const WatchQuery = Type.Object({
  index: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
  wait: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}(ms|s)?$', description: 'e.g. 30s, 500ms (max 5 min)' })),
});

const MAX_WAIT_MS = 300_000;

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
}

/** The registry contract: register, heartbeat, deregister, resolve (with blocking queries), list. */
export async function servicesRoutes(app: FastifyInstance, { store, metrics }: ServicesRoutesOptions): Promise<void> {
  app.get('/services', { schema: { response: { 200: ServiceList } } }, async () => ({
    services: store.list().map((s) => ({ service_name: s.serviceId, instance_count: s.instances.length, registered_at: s.registeredAt })),
  }));

  app.post<{ Params: { serviceId: string }; Body: RegistrationBodyT }>(
    '/services/:serviceId',
    { schema: { params: ServiceParams, body: RegistrationBody, response: { 200: Instance, 400: ErrorReply } } },
    async (request) => {
      const serviceId = request.params.serviceId;
      const { instance, created } = store.register(serviceId, request.body);
      if (created) {
        metrics.registrations.inc({ service_id: serviceId });
        request.log.info({ serviceId, instanceId: instance.instance_id, address: `${instance.ip_address}:${instance.port_number}` }, 'instance registered');
      }
      return instance;
    },
  );

  app.put<{ Params: { serviceId: string; instanceId: string } }>(
    '/services/:serviceId/:instanceId/heartbeat',
    { logLevel: 'warn', schema: { params: InstanceParams, response: { 200: Instance, 404: ErrorReply } } },
    async (request): Promise<InstanceT> => {
      const { serviceId, instanceId } = request.params;
      const instance = store.heartbeat(serviceId, instanceId);
      if (!instance) throw new UnknownInstanceError(instanceId, serviceId);
      return instance;
    },
  );

  app.delete<{ Params: { serviceId: string; instanceId: string } }>(
    '/services/:serviceId/:instanceId',
    { schema: { params: InstanceParams, response: { 404: ErrorReply } } },
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
    { schema: { params: ServiceParams, querystring: WatchQuery, response: { 200: ServiceView, 404: ErrorReply } } },
    async (request, reply) => {
      const serviceId = request.params.serviceId;
      const waitMs = parseWait(request.query.wait);
      if (request.query.index !== undefined && waitMs > 0) {
        const abort = new AbortController();
        request.raw.once('close', () => abort.abort());
        await store.waitForChange(serviceId, Number(request.query.index), waitMs, abort.signal);
      }
      reply.header(REGISTRY_INDEX_HEADER, String(store.indexOf(serviceId)));
      const snapshot = store.get(serviceId);
      if (!snapshot) throw new UnknownServiceError(serviceId);
      return view(snapshot);
    },
  );
}
