import { Type, type Static } from '@sinclair/typebox';

// Ingestion's public routes: method, path and schemas of each. Ingestion registers its routes with these
// (ingestion/src/routes/sources-routes.ts) and the gateway publishes them in its OpenAPI document.

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

// `sources` is the contract's list of every enabled source; `unavailable` appears only when one of them cannot fetch.
export const SourcesReply = Type.Object(
  {
    sources: Type.Array(Type.String()),
    unavailable: Type.Optional(
      Type.Array(
        Type.Object(
          { source: Type.String(), url: Type.String(), reason: Type.String() },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);
export type SourcesReply = Static<typeof SourcesReply>;

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
      paused: Type.Boolean({ description: 'polls skipped while the raw store is full' }),
    }),
  ),
});
export type SourcesStatusReply = Static<typeof SourcesStatusReply>;

/** `GET /sources`, `GET /sources/status`. */
export const sourcesOperations = {
  sources: {
    method: 'GET',
    url: '/sources',
    schema: {
      summary: 'Configured price sources (base URLs), and which cannot fetch now',
      response: { 200: SourcesReply },
    },
  },
  status: {
    method: 'GET',
    url: '/sources/status',
    schema: { summary: 'Health of each price source', response: { 200: SourcesStatusReply } },
  },
} as const;

/** Every public route of ingestion. */
export const ingestionOperations = Object.values(sourcesOperations);
