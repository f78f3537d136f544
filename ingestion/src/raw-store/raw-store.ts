import type { FetchedDocument, SourceProblem } from '../sources/source.js';
import type { Rejection, SourceId, Tick } from '../ticks/tick.js';

/** A fetched (or pushed) document as it arrived, before transformation. */
export interface NewRawDocument {
  source: SourceId;
  /** The URL it came from, secrets redacted (`grpc://ProcessData` for pushed content). */
  url: string;
  fetched_at: Date;
  status: number;
  content_type?: string | undefined;
  body: string;
  /** The symbols the request asked for (polled sources), so the document can be parsed again later. */
  symbols?: string[] | undefined;
}

/**
 * A stored raw document. The raw store is also the publishing outbox: `published` turns true only once the
 * bus has confirmed every tick of the document (or at once when it had none).
 */
export interface RawDocument extends NewRawDocument {
  id: string;
  /** The transform ran and recorded its outcome. */
  processed: boolean;
  ticks: Tick[];
  rejections: Rejection[];
  problems: SourceProblem[];
  published: boolean;
  published_at?: Date | undefined;
}

export interface DocumentOutcome {
  ticks: Tick[];
  rejections: Rejection[];
  problems: SourceProblem[];
}

/**
 * The raw store port: MongoDB and an embedded store implement it. It never drops a document whose ticks are not
 * published: retention and bounds take published documents only.
 */
export interface RawStore {
  readonly kind: 'mongodb' | 'embedded';
  /**
   * True while new documents are refused because unpublished ones fill the store's budget (the embedded store's
   * bytes; MongoDB is bounded by its disk and is never full here). Turns false once publishing makes room.
   */
  readonly full: boolean;
  /** Connects, creates indexes or loads from disk. */
  start(): Promise<void>;
  /**
   * Stores a document before anything is done with it; returns its id. Rejects with RawStoreFullError when there is no
   * room.
   */
  insert(document: NewRawDocument): Promise<string>;
  /** Records what the transform made of a document; a document without ticks is published at once. */
  recordOutcome(id: string, outcome: DocumentOutcome): Promise<void>;
  markPublished(ids: readonly string[], at: Date): Promise<void>;
  /** Processed documents whose ticks await a broker confirm, oldest first. */
  unpublished(limit: number): Promise<RawDocument[]>;
  /** Documents stored but never processed (the process stopped in between), fetched before `before`, oldest first. */
  unprocessed(limit: number, before: Date): Promise<RawDocument[]>;
  /** How many documents await publishing (the outbox depth). */
  outboxDepth(): Promise<number>;
  get(id: string): Promise<RawDocument | undefined>;
  /** Newest documents first. */
  recent(opts: { source?: SourceId; limit: number }): Promise<RawDocument[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The raw-store form of a fetched document. */
export function rawDocumentOf(fetched: FetchedDocument, symbols: readonly string[]): NewRawDocument {
  return {
    source: fetched.source,
    url: fetched.url,
    fetched_at: fetched.fetchedAt,
    status: fetched.status,
    content_type: fetched.contentType,
    body: fetched.body,
    symbols: [...symbols],
  };
}
