import { randomUUID } from 'node:crypto';
import { MongoClient, MongoServerError, type Collection, type Db } from 'mongodb';
import type { SourceId } from '../ticks/tick.js';
import type { DocumentOutcome, NewRawDocument, RawDocument, RawStore } from './raw-store.js';

export interface MongoRawStoreOptions {
  url: string;
  dbName: string;
  retentionDays: number;
  collection?: string;
  serverSelectionTimeoutMs?: number;
}

type StoredDocument = Omit<RawDocument, 'id'> & { _id: string };

const INDEX_OPTIONS_CONFLICT = new Set([85, 86]);
const RETENTION_INDEX = 'retention_ttl';

function toDocument({ _id, ...rest }: StoredDocument): RawDocument {
  return { id: _id, ...rest };
}

/**
 * Raw store on MongoDB with the official driver: a TTL index over published documents for retention (an unpublished
 * one is never expired), an index serving the outbox scan.
 */
export class MongoRawStore implements RawStore {
  readonly kind = 'mongodb' as const;
  /** Bounded by the server's disk, not by this process. */
  readonly full = false;
  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly collection: Collection<StoredDocument>;

  constructor(private readonly opts: MongoRawStoreOptions) {
    this.client = new MongoClient(opts.url, {
      serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 5000,
      ignoreUndefined: true,
    });
    this.db = this.client.db(opts.dbName);
    this.collection = this.db.collection<StoredDocument>(opts.collection ?? 'raw_documents');
  }

  async start(): Promise<void> {
    await this.client.connect();
    await this.ensureRetentionIndex(Math.round(this.opts.retentionDays * 86_400));
    await this.collection.createIndexes([
      { key: { published: 1, processed: 1, fetched_at: 1 }, name: 'outbox' },
      { key: { source: 1, fetched_at: -1 }, name: 'by_source' },
    ]);
  }

  /** The TTL index, partial over published documents; one made before it was partial is replaced. */
  private async ensureRetentionIndex(expireAfterSeconds: number): Promise<void> {
    const options = { name: RETENTION_INDEX, expireAfterSeconds, partialFilterExpression: { published: true } };
    try {
      await this.collection.createIndex({ fetched_at: 1 }, options);
      return;
    } catch (err) {
      if (!(err instanceof MongoServerError) || !INDEX_OPTIONS_CONFLICT.has(Number(err.code))) throw err;
    }
    const existing = (await this.collection.indexes()).find((i) => i.name === RETENTION_INDEX);
    if (existing?.partialFilterExpression?.published === true) {
      // Only the retention changed since the index was made: update it in place.
      await this.db.command({
        collMod: this.collection.collectionName,
        index: { name: RETENTION_INDEX, expireAfterSeconds },
      });
      return;
    }
    // An index over every document would expire unpublished ones too: a partial filter cannot be added in place.
    await this.collection.dropIndex(RETENTION_INDEX);
    await this.collection.createIndex({ fetched_at: 1 }, options);
  }

  async insert(document: NewRawDocument): Promise<string> {
    const id = randomUUID();
    await this.collection.insertOne({
      ...document,
      _id: id,
      processed: false,
      ticks: [],
      rejections: [],
      problems: [],
      published: false,
    });
    return id;
  }

  async recordOutcome(id: string, outcome: DocumentOutcome): Promise<void> {
    await this.collection.updateOne(
      { _id: id, processed: false },
      { $set: { ...outcome, processed: true, published: outcome.ticks.length === 0 } },
    );
  }

  async markPublished(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.collection.updateMany(
      { _id: { $in: [...ids] }, published: false },
      { $set: { published: true, published_at: at } },
    );
  }

  async unpublished(limit: number): Promise<RawDocument[]> {
    const docs = await this.collection
      .find({ published: false, processed: true })
      .sort({ fetched_at: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => toDocument(d as StoredDocument));
  }

  async unprocessed(limit: number, before: Date): Promise<RawDocument[]> {
    const docs = await this.collection
      .find({ published: false, processed: false, fetched_at: { $lt: before } })
      .sort({ fetched_at: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => toDocument(d as StoredDocument));
  }

  async outboxDepth(): Promise<number> {
    return this.collection.countDocuments({ published: false, processed: true });
  }

  async get(id: string): Promise<RawDocument | undefined> {
    const doc = await this.collection.findOne({ _id: id });
    return doc ? toDocument(doc as StoredDocument) : undefined;
  }

  async recent(opts: { source?: SourceId; limit: number }): Promise<RawDocument[]> {
    const docs = await this.collection
      .find(opts.source ? { source: opts.source } : {})
      .sort({ fetched_at: -1, _id: -1 })
      .limit(opts.limit)
      .toArray();
    return docs.map((d) => toDocument(d as StoredDocument));
  }

  async ping(): Promise<boolean> {
    await this.db.command({ ping: 1 });
    return true;
  }

  /** Drops the collection (tests clean up their own run). */
  async drop(): Promise<void> {
    await this.collection.drop().catch(() => {});
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
