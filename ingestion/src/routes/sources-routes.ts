import type { FastifyInstance } from 'fastify';
import { sourcesOperations } from '@lizards/contract';
import type { Source } from '../sources/source.js';
import type { Scheduler } from '../scheduler/scheduler.js';

export interface SourcesRoutesOptions {
  sources: readonly Source[];
  scheduler: Scheduler;
}

/**
 * GET /sources (the contract: the base URLs of the enabled sources, and which cannot fetch now) and GET
 * /sources/status.
 */
export async function sourcesRoutes(app: FastifyInstance, opts: SourcesRoutesOptions): Promise<void> {
  const urls = opts.sources.map((s) => s.baseUrl);
  app.get(sourcesOperations.sources.url, { schema: sourcesOperations.sources.schema }, async () => {
    const unavailable = opts.sources.flatMap((s) => {
      const availability = s.availability?.();
      return availability?.available === false ? [{ source: s.id, url: s.baseUrl, reason: availability.reason }] : [];
    });
    return unavailable.length > 0 ? { sources: urls, unavailable } : { sources: urls };
  });
  const { status } = sourcesOperations;
  app.get(status.url, { schema: status.schema }, async () => ({ sources: opts.scheduler.status() }));
}
