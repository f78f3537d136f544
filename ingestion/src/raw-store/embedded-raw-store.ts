import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { SourceId } from '../ticks/tick.js';
import type { DocumentOutcome, NewRawDocument, RawDocument, RawStore } from './raw-store.js';

export interface EmbeddedRawStoreOptions {
  /** Most documents kept; past it the oldest published ones go first. */
  maxDocuments: number;
  retentionDays: number;
  /** When set, every change is appended to `<dir>/raw-documents.jsonl` and replayed at start. */
  dataDir?: string | undefined;
  log?: Pick<FastifyBaseLogger, 'warn' | 'info'>;
  now?: () => number;
}

type LogEntry =
  | { op: 'insert'; doc: RawDocument }
  | { op: 'outcome'; id: string; outcome: DocumentOutcome }
  | { op: 'published'; ids: string[]; at: string };

const FILE_NAME = 'raw-documents.jsonl';
const DAY_MS = 86_400_000;

function revive(doc: RawDocument): RawDocument {
  return {
    ...doc,
    fetched_at: new Date(doc.fetched_at),
    ...(doc.published_at ? { published_at: new Date(doc.published_at) } : {}),
  };
}

/** In-process raw store: bounded, with retention, optionally persisted as a JSON-lines change log. */
export class EmbeddedRawStore implements RawStore {
  readonly kind = 'embedded' as const;
  /** Insertion order is age order: the first entries are the oldest. */
  private readonly docs = new Map<string, RawDocument>();
  private pending = 0;
  private file: FileHandle | undefined;
  private writes: Promise<void> = Promise.resolve();
  private appended = 0;
  private closed = false;
  /** Unpublished documents dropped because the bound was reached (only when everything held is unpublished). */
  droppedUnpublished = 0;
  private readonly now: () => number;

  constructor(private readonly opts: EmbeddedRawStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  private get path(): string | undefined {
    return this.opts.dataDir ? join(this.opts.dataDir, FILE_NAME) : undefined;
  }

  async start(): Promise<void> {
    const path = this.path;
    if (!path) return;
    await mkdir(this.opts.dataDir!, { recursive: true });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        this.apply(JSON.parse(line) as LogEntry);
      } catch {
        // A torn last line after a crash: everything before it is intact.
        this.opts.log?.warn({ path }, 'skipping an unreadable raw-store log line');
      }
    }
    this.enforceBounds();
    await this.compact();
    this.opts.log?.info({ path, documents: this.docs.size, unpublished: this.pending }, 'embedded raw store loaded');
  }

  async insert(document: NewRawDocument): Promise<string> {
    const doc: RawDocument = { ...document, id: randomUUID(), processed: false, ticks: [], rejections: [], problems: [], published: false };
    this.apply({ op: 'insert', doc });
    this.enforceBounds();
    await this.append({ op: 'insert', doc });
    return doc.id;
  }

  async recordOutcome(id: string, outcome: DocumentOutcome): Promise<void> {
    this.apply({ op: 'outcome', id, outcome });
    await this.append({ op: 'outcome', id, outcome });
  }

  async markPublished(ids: readonly string[], at: Date): Promise<void> {
    const entry: LogEntry = { op: 'published', ids: [...ids], at: at.toISOString() };
    this.apply(entry);
    await this.append(entry);
  }

  async unpublished(limit: number): Promise<RawDocument[]> {
    const out: RawDocument[] = [];
    if (this.pending === 0) return out;
    for (const doc of this.docs.values()) {
      if (doc.processed && !doc.published) out.push(doc);
      if (out.length >= limit) break;
    }
    return out;
  }

  async unprocessed(limit: number, before: Date): Promise<RawDocument[]> {
    const out: RawDocument[] = [];
    for (const doc of this.docs.values()) {
      if (out.length >= limit) break;
      if (!doc.processed && doc.fetched_at < before) out.push(doc);
    }
    return out;
  }

  async outboxDepth(): Promise<number> {
    return this.pending;
  }

  async get(id: string): Promise<RawDocument | undefined> {
    return this.docs.get(id);
  }

  async recent(opts: { source?: SourceId; limit: number }): Promise<RawDocument[]> {
    const all = [...this.docs.values()].filter((d) => !opts.source || d.source === opts.source);
    return all.slice(-opts.limit).reverse();
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writes;
    await this.file?.close();
    this.file = undefined;
  }

  private apply(entry: LogEntry): void {
    switch (entry.op) {
      case 'insert': {
        const doc = revive(entry.doc);
        // A compaction may have written a document before its own queued insert line: the line restarts it.
        const earlier = this.docs.get(doc.id);
        if (earlier) this.remove(earlier);
        this.docs.set(doc.id, doc);
        if (doc.processed && !doc.published) this.pending++;
        return;
      }
      case 'outcome': {
        const doc = this.docs.get(entry.id);
        if (!doc || doc.processed) return;
        Object.assign(doc, entry.outcome, { processed: true, published: entry.outcome.ticks.length === 0 });
        if (!doc.published) this.pending++;
        return;
      }
      case 'published':
        for (const id of entry.ids) {
          const doc = this.docs.get(id);
          if (!doc || doc.published) continue;
          doc.published = true;
          doc.published_at = new Date(entry.at);
          if (doc.processed) this.pending--;
        }
    }
  }

  private remove(doc: RawDocument): void {
    this.docs.delete(doc.id);
    if (doc.processed && !doc.published) this.pending--;
  }

  private enforceBounds(): void {
    const cutoff = this.now() - this.opts.retentionDays * DAY_MS;
    for (const doc of this.docs.values()) {
      if (doc.fetched_at.getTime() >= cutoff) break;
      this.remove(doc);
    }
    if (this.docs.size <= this.opts.maxDocuments) return;
    for (const doc of this.docs.values()) {
      if (this.docs.size <= this.opts.maxDocuments) return;
      if (doc.published) this.remove(doc);
    }
    // Everything left awaits the broker: the bound wins over the outbox, and the loss is counted and logged.
    for (const doc of this.docs.values()) {
      if (this.docs.size <= this.opts.maxDocuments) break;
      this.remove(doc);
      this.droppedUnpublished++;
      this.opts.log?.warn({ id: doc.id, source: doc.source }, 'raw store full: dropped an unpublished document');
    }
  }

  private append(entry: LogEntry): Promise<void> {
    if (!this.path) return Promise.resolve();
    const line = `${JSON.stringify(entry)}\n`;
    this.writes = this.writes.then(async () => {
      if (this.closed && !this.file) return;
      this.file ??= await open(this.path!, 'a');
      await this.file.write(line);
      // The log is rewritten from memory once it holds far more entries than documents.
      if (++this.appended > this.opts.maxDocuments * 4) await this.rewrite();
    });
    return this.writes;
  }

  private compact(): Promise<void> {
    this.writes = this.writes.then(() => this.rewrite());
    return this.writes;
  }

  private async rewrite(): Promise<void> {
    const path = this.path!;
    await this.file?.close();
    this.file = undefined;
    const lines = [...this.docs.values()].map((doc) => JSON.stringify({ op: 'insert', doc } satisfies LogEntry));
    await writeFile(`${path}.tmp`, lines.length > 0 ? `${lines.join('\n')}\n` : '');
    await rename(`${path}.tmp`, path);
    this.appended = 0;
  }
}
