import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Balancer } from '../upstreams/balancer.js';
import type { InstanceDirectory } from '../upstreams/instance-directory.js';
import type { UpstreamAdmission } from '../upstreams/upstream-admission.js';

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

export interface GatewayMetrics {
  requests: Counter<'route' | 'method' | 'status' | 'upstream'>;
  upstreamDuration: Histogram<'upstream_service' | 'upstream' | 'outcome'>;
  retries: Counter<'upstream_service'>;
  cache: Counter<'result'>;
  rateLimited: Counter<'group'>;
  wsConnections: Gauge<string>;
  wsSessions: Counter<'outcome'>;
}

/**
 * The gateway's own series (`service` is the default label naming the gateway, hence `upstream_service`); breaker
 * state, instance counts and fail-static are read at scrape time.
 */
export function createGatewayMetrics(
  registry: Registry,
  sources: { balancer: Balancer; directory: InstanceDirectory; admission: UpstreamAdmission; services: string[] },
): GatewayMetrics {
  const registers = [registry];
  new Gauge({
    name: 'gateway_breaker_state',
    // Each cluster worker keeps its own view; the aggregated scrape shows the worst (with one worker, its own).
    aggregator: 'max',
    help: 'Circuit state per upstream instance: 0 closed, 1 half-open, 2 open',
    labelNames: ['upstream_service', 'upstream'],
    registers,
    collect() {
      this.reset();
      for (const s of sources.balancer.snapshot(sources.services))
        this.set({ upstream_service: s.serviceId, upstream: s.address }, BREAKER_VALUE[s.state]);
    },
  });
  new Gauge({
    name: 'gateway_upstream_instances',
    aggregator: 'max',
    help: 'Instances routed to per service (registered ones the gateway admits)',
    labelNames: ['upstream_service'],
    registers,
    collect() {
      for (const service of sources.services)
        this.set({ upstream_service: service }, sources.balancer.snapshot([service]).length);
    },
  });
  new Counter({
    name: 'gateway_upstream_refused_total',
    help:
      'Registered instances (or resolved addresses) never contacted: protocol not HTTP, address or resolved ' +
      'address outside UPSTREAM_ALLOW',
    labelNames: ['upstream_service', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const r of sources.admission.refusals())
        this.inc({ upstream_service: r.serviceId, reason: r.reason }, r.count);
    },
  });
  new Gauge({
    name: 'gateway_registry_fail_static',
    aggregator: 'max',
    help: '1 while the registry is unreachable and the last known instances of the service are used',
    labelNames: ['upstream_service'],
    registers,
    collect() {
      for (const service of sources.services)
        this.set({ upstream_service: service }, sources.directory.isFailStatic(service) ? 1 : 0);
    },
  });
  return {
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Proxied requests by route pattern, method, status and upstream instance',
      labelNames: ['route', 'method', 'status', 'upstream'],
      registers,
    }),
    upstreamDuration: new Histogram({
      name: 'gateway_upstream_duration_seconds',
      help: 'Time to the upstream response headers, by outcome (ok, 5xx, timeout, error)',
      labelNames: ['upstream_service', 'upstream', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    retries: new Counter({
      name: 'gateway_upstream_retries_total',
      help: 'Requests retried on another instance',
      labelNames: ['upstream_service'],
      registers,
    }),
    cache: new Counter({
      name: 'gateway_cache_lookups_total',
      help: 'Response cache lookups: hit, miss, error (store unavailable)',
      labelNames: ['result'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429, by route group',
      labelNames: ['group'],
      registers,
    }),
    wsConnections: new Gauge({ name: 'gateway_ws_connections', help: 'Open proxied WebSocket connections', registers }),
    wsSessions: new Counter({
      name: 'gateway_ws_sessions_total',
      help: 'Proxied WebSocket sessions by how they ended or failed to start',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
