import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface HubMetrics {
  connections: Gauge;
  subscriptions: Gauge;
  messagesPushed: Counter;
  bytesPushed: Counter;
  conflated: Counter;
  dropped: Counter<'reason'>;
  protocolErrors: Counter;
  tickToPush: Histogram;
  provisionalTicks: Counter;
}

export function createHubMetrics(registry: Registry): HubMetrics {
  return {
    connections: new Gauge({
      name: 'provider_ws_connections',
      help: 'open WebSocket connections',
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: 'provider_ws_subscriptions',
      help: 'symbol subscriptions over all connections',
      registers: [registry],
    }),
    messagesPushed: new Counter({
      name: 'provider_ws_messages_pushed_total',
      help: 'messages sent to clients',
      registers: [registry],
    }),
    bytesPushed: new Counter({
      name: 'provider_ws_bytes_pushed_total',
      help: 'bytes sent to clients',
      registers: [registry],
    }),
    conflated: new Counter({
      name: 'provider_ws_conflated_total',
      help: 'tick updates replaced by a newer one for a slow client',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'provider_ws_dropped_clients_total',
      help: 'connections closed by the server',
      labelNames: ['reason'],
      registers: [registry],
    }),
    protocolErrors: new Counter({
      name: 'provider_ws_protocol_errors_total',
      help: 'bad client messages',
      registers: [registry],
    }),
    provisionalTicks: new Counter({
      name: 'provider_ws_provisional_ticks_total',
      help: 'ticks pushed before they were stored (PostgreSQL down or behind by more than LIVE_MAX_LAG_MS)',
      registers: [registry],
    }),
    tickToPush: new Histogram({
      name: 'provider_tick_to_push_seconds',
      help: 'from ingestion publishing a tick to the provider pushing it to a client',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
