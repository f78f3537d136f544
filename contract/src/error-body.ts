import { Type, type Static } from '@sinclair/typebox';

/** The one JSON error body every service answers with (also the response schema of error statuses). */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String({ description: "the status text of node:http's STATUS_CODES" }),
  code: Type.String({ description: "stable, to match on: LZ_ERR_* for ours, FST_ERR_* for Fastify's" }),
  message: Type.String(),
  field: Type.Optional(
    Type.String({ description: 'the request field at fault (body for a body that is not JSON or too large)' }),
  ),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** The ErrorBody as the reply of one error status of a route, with what it means there. */
export const errorReply = (description: string) => Type.Object(ErrorBody.properties, { description });
