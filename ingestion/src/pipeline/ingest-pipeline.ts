import type { FastifyBaseLogger } from 'fastify';
import type { IngestionMetrics } from '../ingestion-metrics.js';
import type { OutboxPublisher } from '../outbox/outbox-publisher.js';
import type { NewRawDocument, RawDocument, RawStore } from '../raw-store/raw-store.js';
import type { ParsedDocument, SourceProblem } from '../sources/source.js';
import { transformAndValidate } from '../ticks/tick-schema.js';
import type { Rejection, Tick } from '../ticks/tick.js';

export interface IngestPipelineOptions {
  store: RawStore;
  publisher: OutboxPublisher;
  metrics: IngestionMetrics;
  log: Pick<FastifyBaseLogger, 'warn' | 'debug'>;
  maxFutureSkewMs: number;
  now?: () => number;
}

export interface IngestOutcome {
  documentId: string;
  accepted: Tick[];
  rejections: Rejection[];
  problems: SourceProblem[];
  /** The broker confirmed the ticks now; otherwise the outbox publishes them later. */
  published: boolean;
}

/** Store raw → parse → transform + validate → record the outcome → publish: the one path for polled and pushed data. */
export class IngestPipeline {
  constructor(private readonly opts: IngestPipelineOptions) {}

  /** False while the raw store refuses new documents (full of unpublished ones): `ingest` would reject. */
  get accepting(): boolean {
    return !this.opts.store.full;
  }

  /** Rejects with RawStoreFullError, taking nothing, when the raw store has no room. */
  async ingest(document: NewRawDocument, parse: () => ParsedDocument): Promise<IngestOutcome> {
    const { store, metrics, log } = this.opts;
    const documentId = await store.insert(document);
    let parsed: ParsedDocument;
    try {
      parsed = parse();
    } catch (err) {
      parsed = {
        candidates: [],
        problems: [{ reason: 'bad_response', message: `unparseable: ${(err as Error).message}`.slice(0, 200) }],
      };
    }
    const { accepted, rejections } = transformAndValidate(parsed.candidates, document.source, {
      maxFutureSkewMs: this.opts.maxFutureSkewMs,
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
    await store.recordOutcome(documentId, { ticks: accepted, rejections, problems: parsed.problems });

    const source = document.source;
    for (const p of parsed.problems) {
      metrics.sourceProblems.inc({ source, reason: p.reason });
      log.warn(
        { source, documentId, url: document.url, status: document.status, reason: p.reason, problem: p.message },
        'source problem',
      );
    }
    for (const r of rejections) {
      metrics.ticksRejected.inc({ source, reason: r.reason });
      log.debug({ source, documentId, rejection: r }, 'tick rejected');
    }
    if (rejections.length > 0) {
      log.warn({ source, documentId, rejected: rejections.length, first: rejections[0] }, 'ticks rejected');
    }
    metrics.ticksAccepted.inc({ source }, accepted.length);
    const published =
      accepted.length > 0 ? await this.opts.publisher.publish({ id: documentId, ticks: accepted }) : true;
    return { documentId, accepted, rejections, problems: parsed.problems, published };
  }

  /**
   * Finishes documents that were stored raw but never processed (the process stopped in between): parses,
   * validates and records them, leaving their ticks in the outbox for the publisher. Only documents fetched
   * before `before` are taken, so documents another instance is processing right now are left alone.
   */
  async recover(
    parserFor: (document: RawDocument) => (() => ParsedDocument) | undefined,
    before: Date,
  ): Promise<number> {
    const { store, log } = this.opts;
    let recovered = 0;
    for (;;) {
      const page = await store.unprocessed(100, before);
      if (page.length === 0) break;
      for (const document of page) {
        const parse = parserFor(document);
        let parsed: ParsedDocument;
        try {
          parsed = parse
            ? parse()
            : {
                candidates: [],
                problems: [{ reason: 'bad_response', message: `no parser for source ${document.source} any more` }],
              };
        } catch (err) {
          parsed = {
            candidates: [],
            problems: [{ reason: 'bad_response', message: `unparseable: ${(err as Error).message}`.slice(0, 200) }],
          };
        }
        const { accepted, rejections } = transformAndValidate(parsed.candidates, document.source, {
          maxFutureSkewMs: this.opts.maxFutureSkewMs,
          ...(this.opts.now ? { now: this.opts.now } : {}),
        });
        await store.recordOutcome(document.id, { ticks: accepted, rejections, problems: parsed.problems });
        this.opts.metrics.ticksAccepted.inc({ source: document.source }, accepted.length);
        recovered++;
      }
    }
    if (recovered > 0) log.warn({ documents: recovered }, 'processed raw documents left unprocessed by an earlier run');
    return recovered;
  }
}
