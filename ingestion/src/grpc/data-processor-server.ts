import * as grpc from '@grpc/grpc-js';
import type { FastifyBaseLogger } from 'fastify';
import { loadDataProcessor, type ProcessingResponse, type RawData } from '@lizards/proto';
import type { IngestPipeline } from '../pipeline/ingest-pipeline.js';
import type { ParsedDocument } from '../sources/source.js';
import { bearerTokenInterceptor } from './bearer-token-interceptor.js';
import { parseContentDocument } from './content-parser.js';
import { peerLimitsInterceptor, type PeerLimits } from './peer-limits-interceptor.js';

export interface DataProcessorServerOptions {
  pipeline: IngestPipeline;
  host: string;
  port: number;
  /** Larger requests are refused by grpc-js with RESOURCE_EXHAUSTED before they reach the handler. */
  maxMessageBytes: number;
  /** Every call must carry `authorization: Bearer <token>`; undefined = no check (a loopback-only listener). */
  token: string | undefined;
  maxConcurrentCallsPerPeer: number;
  rateLimit: PeerLimits['rateLimit'];
  /** Retry hint of a call refused because the raw store is full (`grpc-retry-pushback-ms`). */
  retryAfterMs: number;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
}

export const GRPC_DOCUMENT_URL = 'grpc://dataprocessor.DataProcessor/ProcessData';

/**
 * gRPC DataProcessor.ProcessData: the content takes the same store → validate → publish path as a fetched document,
 * its ticks stamped source `grpc`. Before the handler: the token (UNAUTHENTICATED), then the caller's address's
 * limits (RESOURCE_EXHAUSTED with a retry hint).
 * - every tick accepted: response status "OK";
 * - some accepted, some rejected: response status "INVALID_ARGUMENT" naming the first problem, with both counts;
 * - nothing accepted (malformed content, wrong types, every tick invalid): the call fails with gRPC INVALID_ARGUMENT;
 * - the raw store unreachable: the call fails with UNAVAILABLE (nothing was taken, the client may retry);
 * - the raw store full (the broker has been away long enough): RESOURCE_EXHAUSTED with a retry hint, nothing taken.
 */
export class DataProcessorServer {
  private server: grpc.Server | undefined;
  port = 0;

  constructor(private readonly opts: DataProcessorServerOptions) {}

  async start(): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.opts.maxMessageBytes,
      'grpc.max_send_message_length': 64 * 1024,
      interceptors: [
        ...(this.opts.token ? [bearerTokenInterceptor(this.opts.token)] : []),
        peerLimitsInterceptor({
          maxConcurrentCalls: this.opts.maxConcurrentCallsPerPeer,
          rateLimit: this.opts.rateLimit,
        }),
      ],
    });
    server.addService(loadDataProcessor().service, {
      ProcessData: (
        call: grpc.ServerUnaryCall<RawData, ProcessingResponse>,
        callback: grpc.sendUnaryData<ProcessingResponse>,
      ) => {
        this.process(call.request.content ?? '').then(
          // Status details quote client text; grpc-js encodeURIs them outside any handler, and a lone surrogate makes
          // that throw.
          (reply) =>
            callback(
              reply.error ? { ...reply.error, details: (reply.error.details ?? '').toWellFormed() } : null,
              reply.response,
            ),
          (err: unknown) => {
            if ((err as { code?: string }).code === 'LZ_ERR_INGESTION_RAW_STORE_FULL')
              return callback(this.refusedFull(err as Error));
            this.opts.log.error({ err }, 'ProcessData failed');
            callback({
              code: grpc.status.UNAVAILABLE,
              details: `ingestion could not store the content: ${(err as Error).message}`.toWellFormed(),
            });
          },
        );
      },
    });
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${this.opts.port}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
    this.opts.log.info({ port: this.port }, 'gRPC DataProcessor listening');
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 3000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private async process(
    content: string,
  ): Promise<{ error?: Partial<grpc.StatusObject>; response?: ProcessingResponse }> {
    let format: string | undefined;
    const outcome = await this.opts.pipeline.ingest(
      { source: 'grpc', url: GRPC_DOCUMENT_URL, fetched_at: new Date(), status: 200, body: content },
      (): ParsedDocument => {
        const parsed = parseContentDocument(content);
        format = parsed.format;
        return parsed;
      },
    );
    const accepted = outcome.accepted.length;
    const rejected = outcome.rejections.length;
    const first = outcome.problems[0]?.message ?? this.describeRejection(outcome.rejections[0]);
    if (first === undefined) {
      return {
        response: {
          status: 'OK',
          message: `accepted ${accepted} tick${accepted === 1 ? '' : 's'} (${format})`,
          accepted,
          rejected: 0,
        },
      };
    }
    if (accepted === 0) {
      return { error: { code: grpc.status.INVALID_ARGUMENT, details: first } };
    }
    return {
      response: {
        status: 'INVALID_ARGUMENT',
        message: `${rejected} of ${accepted + rejected} ticks rejected; first: ${first}`,
        accepted,
        rejected,
      },
    };
  }

  /** RESOURCE_EXHAUSTED with gRPC's server pushback, the hint a retrying client waits by. */
  private refusedFull(err: Error): Partial<grpc.StatusObject> {
    const metadata = new grpc.Metadata();
    metadata.set('grpc-retry-pushback-ms', String(this.opts.retryAfterMs));
    return {
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: `${err.message}; retry in ${Math.ceil(this.opts.retryAfterMs / 1000)} s`,
      metadata,
    };
  }

  private describeRejection(r: { index: number; message: string; symbol?: string } | undefined): string | undefined {
    return r ? `ticks[${r.index}]${r.symbol ? ` (${r.symbol})` : ''}: ${r.message}` : undefined;
  }
}
