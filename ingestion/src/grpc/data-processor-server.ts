import * as grpc from '@grpc/grpc-js';
import type { FastifyBaseLogger } from 'fastify';
import { loadDataProcessor, type ProcessingResponse, type RawData } from '@lizards/proto';
import type { IngestPipeline } from '../pipeline/ingest-pipeline.js';
import type { ParsedDocument } from '../sources/source.js';
import { parseContentDocument } from './content-parser.js';

export interface DataProcessorServerOptions {
  pipeline: IngestPipeline;
  host: string;
  port: number;
  /** Larger requests are refused by grpc-js with RESOURCE_EXHAUSTED before they reach the handler. */
  maxMessageBytes: number;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
}

export const GRPC_DOCUMENT_URL = 'grpc://dataprocessor.DataProcessor/ProcessData';

/**
 * gRPC DataProcessor.ProcessData: the content takes the same store → validate → publish path as a fetched document.
 * - every tick accepted: response status "OK";
 * - some accepted, some rejected: response status "INVALID_ARGUMENT" naming the first problem, with both counts;
 * - nothing accepted (malformed content, wrong types, every tick invalid): the call fails with gRPC INVALID_ARGUMENT;
 * - the raw store unreachable: the call fails with UNAVAILABLE (nothing was taken, the client may retry).
 */
export class DataProcessorServer {
  private server: grpc.Server | undefined;
  port = 0;

  constructor(private readonly opts: DataProcessorServerOptions) {}

  async start(): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.opts.maxMessageBytes,
      'grpc.max_send_message_length': 64 * 1024,
    });
    server.addService(loadDataProcessor().service, {
      ProcessData: (call: grpc.ServerUnaryCall<RawData, ProcessingResponse>, callback: grpc.sendUnaryData<ProcessingResponse>) => {
        this.process(call.request.content ?? '').then(
          // Status details quote client text; grpc-js encodeURIs them outside any handler, and a lone surrogate makes that throw.
          (reply) => callback(reply.error ? { ...reply.error, details: (reply.error.details ?? '').toWellFormed() } : null, reply.response),
          (err: unknown) => {
            this.opts.log.error({ err }, 'ProcessData failed');
            callback({ code: grpc.status.UNAVAILABLE, details: `ingestion could not store the content: ${(err as Error).message}`.toWellFormed() });
          },
        );
      },
    });
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${this.opts.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
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

  private async process(content: string): Promise<{ error?: Partial<grpc.StatusObject>; response?: ProcessingResponse }> {
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
      return { response: { status: 'OK', message: `accepted ${accepted} tick${accepted === 1 ? '' : 's'} (${format})`, accepted, rejected: 0 } };
    }
    if (accepted === 0) {
      return { error: { code: grpc.status.INVALID_ARGUMENT, details: first } };
    }
    return {
      response: { status: 'INVALID_ARGUMENT', message: `${rejected} of ${accepted + rejected} ticks rejected; first: ${first}`, accepted, rejected },
    };
  }

  private describeRejection(r: { index: number; message: string; symbol?: string } | undefined): string | undefined {
    return r ? `ticks[${r.index}]${r.symbol ? ` (${r.symbol})` : ''}: ${r.message}` : undefined;
  }
}
