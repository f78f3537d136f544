// The public API as schemas, for the services that register their routes and answer with them, the gateway that
// documents them and the clients that read them: TypeBox and nothing else, so a browser bundle can take it.
export * from './symbol-pattern.js';
export * from './prices-replies.js';
export * from './live-server-messages.js';
export * from './live-client-messages.js';
export * from './reader-schema.js';
export * from './error-body.js';
export * from './provider-operations.js';
export * from './ingestion-operations.js';
