import * as grpc from '@grpc/grpc-js';
import type { BusMessage } from '@lizards/lib';
import { loadDataProcessor, type DataProcessorClient, type ProcessingResponse } from '@lizards/proto';
import type { FastifyInstance } from 'fastify';
import type { IngestionSettings } from '../../src/app.js';
import type { RawStore } from '../../src/raw-store/raw-store.js';
import { buildTestApp, INGEST_TEST_TOKEN } from './ingestion-harness.js';

export type GrpcSettings = Exclude<IngestionSettings['grpc'], false>;

/** A gRPC endpoint on 127.0.0.1:0 that takes INGEST_TEST_TOKEN, with limits no ordinary test reaches. */
export const grpcTestSettings = (overrides: Partial<GrpcSettings> = {}): GrpcSettings => ({
  host: '127.0.0.1',
  port: 0,
  maxMessageBytes: 4096,
  token: INGEST_TEST_TOKEN,
  maxConcurrentCallsPerPeer: 64,
  rateLimit: { max: 100_000, windowMs: 1000 },
  ...overrides,
});

export interface CallResult {
  response?: ProcessingResponse;
  error?: grpc.ServiceError;
}

/** Call metadata with `authorization` set (none when null). */
export function authMetadata(authorization: string | null = `Bearer ${INGEST_TEST_TOKEN}`): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (authorization !== null) metadata.set('authorization', authorization);
  return metadata;
}

/** ProcessData as a client makes it, resolving with the response or the error. */
export function processData(
  client: DataProcessorClient,
  content: string,
  metadata = authMetadata(),
): Promise<CallResult> {
  return new Promise((resolve) => {
    client.ProcessData({ content }, metadata, { deadline: Date.now() + 10_000 }, (error, response) =>
      resolve(error ? { error } : { response: response! }),
    );
  });
}

export function grpcClient(app: FastifyInstance): DataProcessorClient {
  const { Client } = loadDataProcessor();
  return new Client(`127.0.0.1:${app.ingestion.grpcPort}`, grpc.credentials.createInsecure());
}

export interface GrpcTestApp {
  app: FastifyInstance;
  rawStore: RawStore;
  client: DataProcessorClient;
  /** Every message published on the `prices` exchange, in order. */
  published: BusMessage[];
  bodies(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** The app with its gRPC endpoint up, a client of it, and an observer of what it publishes. */
export async function startGrpcTestApp(
  grpcSettings: Partial<GrpcSettings> = {},
  rawStore?: RawStore,
): Promise<GrpcTestApp> {
  const built = buildTestApp({ ...(rawStore ? { rawStore } : {}), settings: { grpc: grpcTestSettings(grpcSettings) } });
  const { app, bus } = built;
  await app.ready();
  const published: BusMessage[] = [];
  await bus.declare({ queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }] });
  await bus.consume(
    'observer',
    (m) => {
      published.push(m);
      m.ack();
    },
    { prefetch: 100 },
  );
  const client = grpcClient(app);
  return {
    app,
    rawStore: built.rawStore,
    client,
    published,
    bodies: () => published.map((m) => JSON.parse(m.body.toString()) as Record<string, unknown>),
    async close() {
      client.close();
      await app.close();
    },
  };
}
