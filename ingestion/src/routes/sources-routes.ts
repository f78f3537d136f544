import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Source } from '../sources/source.js';
import type { Scheduler } from '../scheduler/scheduler.js';

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const SourcesReply = Type.Object({ sources: Type.Array(Type.String()) }, { additionalProperties: false });

export const SourcesStatusReply = Type.Object({
  sources: Type.Array(
    Type.Object({
      source: Type.String(),
      url: Type.String(),
      interval_ms: Type.Integer(),
      symbols: Type.Integer(),
      assigned_symbols: Type.Array(Type.String()),
      polls: Type.Integer(),
      fetches: Type.Integer(),
      failures: Type.Integer(),
      consecutive_failures: Type.Integer(),
      documents: Type.Integer(),
      ticks_accepted: Type.Integer(),
      ticks_rejected: Type.Integer(),
      problems: Type.Integer(),
      last_poll_at: Timestamp,
      last_success_at: Timestamp,
      last_error_at: Timestamp,
      last_error: Type.Union([Type.String(), Type.Null()]),
      next_poll_at: Timestamp,
    }),
  ),
});

export interface SourcesRoutesOptions {
  sources: readonly Source[];
  scheduler: Scheduler;
}

/** GET /sources (the contract: the base URLs of the enabled sources) and GET /sources/status. */
export async function sourcesRoutes(app: FastifyInstance, opts: SourcesRoutesOptions): Promise<void> {
  const urls = opts.sources.map((s) => s.baseUrl);
  app.get('/sources', { schema: { response: { 200: SourcesReply } } }, async () => ({ sources: urls }));
  app.get('/sources/status', { schema: { response: { 200: SourcesStatusReply } } }, async () => ({ sources: opts.scheduler.status() }));
}
