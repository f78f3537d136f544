import type { TSchema } from '@sinclair/typebox';
import { clientMessageSchemas, serverMessageSchemas } from '@lizards/contract';
import type { RouteEntry } from '../routes/route-table.js';

export interface AsyncApiOptions {
  /** The gateway's WebSocket route to the provider's hub (its path is the channel's address). */
  route: RouteEntry | undefined;
  /** The hub's upgrade query (the session token), as JSON Schema. */
  query: TSchema | undefined;
  version: string;
}

/** The JSON Schema of a TypeBox schema, without TypeBox's symbol-keyed markers. */
const jsonSchema = (schema: TSchema) => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

/**
 * The WebSocket protocol of `/ws` as an AsyncAPI 3.0 document, its message payloads the schemas the hub decodes and
 * sends with (contract/src/live-client-messages.ts and live-server-messages.ts): a message added there is documented
 * here.
 */
export function asyncApiDocument(opts: AsyncApiOptions): Record<string, unknown> {
  const channelMessages: Record<string, { $ref: string }> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const add = (type: string, schema: TSchema, action: 'send' | 'receive') => {
    if (messages[type]) throw new Error(`the message type ${type} is both sent and received`);
    schemas[type] = jsonSchema(schema);
    messages[type] = {
      name: type,
      title: type,
      summary: typeof schema.description === 'string' ? schema.description : undefined,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${type}` },
    };
    channelMessages[type] = { $ref: `#/components/messages/${type}` };
    operations[`${action}-${type}`] = {
      action,
      title: action === 'send' ? `The client sends ${type}` : `The client receives ${type}`,
      channel: { $ref: '#/channels/live' },
      messages: [{ $ref: `#/channels/live/messages/${type}` }],
    };
  };
  for (const [type, schema] of Object.entries(clientMessageSchemas)) add(type, schema, 'send');
  for (const [type, schema] of Object.entries(serverMessageSchemas)) add(type, schema, 'receive');

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Lizards live prices',
      version: opts.version,
      description:
        'The WebSocket protocol of the Lizards gateway. Get a `websocket_url` from `POST /session` (see the OpenAPI ' +
        'document at /docs/json), open it, send `subscribe`; every message is one JSON text frame. Keep the highest ' +
        '`cursor` seen (from `price_update` or `stored`) and send it back as `since` to resume after a reconnect. ' +
        'Closes: 1008 after too many protocol errors or queued messages, 1009 for an oversized frame, 1001 on ' +
        'shutdown.',
    },
    defaultContentType: 'application/json',
    channels: {
      live: {
        address: opts.route?.path ?? null,
        title: 'Live prices',
        description: 'One socket per client; subscriptions are per socket.',
        messages: channelMessages,
        ...(opts.query
          ? { bindings: { ws: { method: 'GET', query: jsonSchema(opts.query), bindingVersion: '0.1.0' } } }
          : {}),
      },
    },
    operations,
    components: { messages, schemas },
  };
}
