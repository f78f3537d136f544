import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { RawStoreFullError } from '@lizards/lib';
import type { SourceId } from '../ticks/tick.js';
import type { DocumentOutcome, NewRawDocument, RawDocument, RawStore } from './raw-store.js';

export interface EmbeddedRawStoreOptions {
  /**
   * Budget of the documents kept, in bytes (their JSON size). Published documents are evicted, oldest first, to make
   * room; unpublished ones never are: when they fill it, new documents are refused.
   */
  maxBytes: number;
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

/** What a document costs the budget: about its JSON size, as held in memory and written to the change log. */
function sizeOf(doc: RawDocument): number {
  return Buffer.byteLength(doc.body) + Buffer.byteLength(JSON.stringify({ ...doc, body: '' }));
}

/**
 * In-process raw store: bounded by bytes, with retention, optionally persisted as a JSON-lines change log. Only
 * published documents are ever evicted or expired; unpublished ones wait for the broker however long it takes.
 */
export class EmbeddedRawStore implements RawStore {
  readonly kind = 'embedded' as const;
  /** Insertion order is age order: the first entries are the oldest. */
  private readonly docs = new Map<string, RawDocument>();
  private readonly sizes = new Map<string, { bytes: number; unpublished: boolean }>();
  private pending = 0;
  /** Bytes of every document held, and of those not published (which nothing may evict). */
  private bytes = 0;
  private unpublishedBytes = 0;
  private refusing = false;
  private file: FileHandle | undefined;
  private writes: Promise<void> = Promise.resolve();
  private appendedBytes = 0;
  private closed = false;
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
    this.expire();
    this.makeRoom(0);
    if (this.unpublishedBytes > this.opts.maxBytes) {
      this.refusing = true;
      this.opts.log?.warn(
        { path, unpublishedBytes: this.unpublishedBytes, maxBytes: this.opts.maxBytes },
        'raw store loaded full: new input is refused until the outbox drains',
      );
    }
    await this.compact();
    this.opts.log?.info(
      { path, documents: this.docs.size, unpublished: this.pending, bytes: this.bytes },
      'embedded raw store loaded',
    );
  }

  get full(): boolean {
    return this.refusing;
  }

  async insert(document: NewRawDocument): Promise<string> {
    const doc: RawDocument = {
      ...document,
      id: randomUUID(),
      processed: false,
      ticks: [],
      rejections: [],
      problems: [],
      published: false,
    };
    this.expire();
    if (!this.makeRoom(sizeOf(doc))) {
      // Full until publishing frees room; a document larger than the whole budget is refused without that.
      if (this.unpublishedBytes > 0) this.refusing = true;
      throw new RawStoreFullError(this.unpublishedBytes, this.opts.maxBytes);
    }
    this.apply({ op: 'insert', doc });
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
        this.resize(doc);
        return;
      }
      case 'outcome': {
        const doc = this.docs.get(entry.id);
        if (!doc || doc.processed) return;
        Object.assign(doc, entry.outcome, { processed: true, published: entry.outcome.ticks.length === 0 });
        if (!doc.published) this.pending++;
        this.resize(doc);
        return;
      }
      case 'published':
        for (const id of entry.ids) {
          const doc = this.docs.get(id);
          if (!doc || doc.published) continue;
          doc.published = true;
          doc.published_at = new Date(entry.at);
          if (doc.processed) this.pending--;
          const size = this.sizes.get(id)!;
          size.unpublished = false;
          this.unpublishedBytes -= size.bytes;
          this.refusing = false;
        }
    }
  }

  /** Accounts a document at its current size; a published one is evictable, so it makes room. */
  private resize(doc: RawDocument): void {
    this.forget(doc.id);
    const size = { bytes: sizeOf(doc), unpublished: !doc.published };
    this.sizes.set(doc.id, size);
    this.bytes += size.bytes;
    if (size.unpublished) this.unpublishedBytes += size.bytes;
    else this.refusing = false;
  }

  private forget(id: string): void {
    const size = this.sizes.get(id);
    if (!size) return;
    this.sizes.delete(id);
    this.bytes -= size.bytes;
    if (size.unpublished) this.unpublishedBytes -= size.bytes;
  }

  private remove(doc: RawDocument): void {
    this.forget(doc.id);
    this.docs.delete(doc.id);
    if (doc.processed && !doc.published) this.pending--;
  }

  /** Drops published documents older than the retention; unpublished ones stay. */
  private expire(): void {
    const cutoff = this.now() - this.opts.retentionDays * DAY_MS;
    for (const doc of this.docs.values()) {
      if (doc.fetched_at.getTime() >= cutoff) break;
      if (doc.published) this.remove(doc);
    }
  }

  /** Evicts published documents, oldest first, until `size` more bytes fit the budget; false when they cannot. */
  private makeRoom(size: number): boolean {
    if (this.bytes + size <= this.opts.maxBytes) return true;
    // Evicting every published document would not be enough: keep them.
    if (this.unpublishedBytes + size > this.opts.maxBytes) return false;
    for (const doc of this.docs.values()) {
      if (doc.published) this.remove(doc);
      if (this.bytes + size <= this.opts.maxBytes) return true;
    }
    return false;
  }

  private append(entry: LogEntry): Promise<void> {
    if (!this.path) return Promise.resolve();
    const line = `${JSON.stringify(entry)}\n`;
    this.writes = this.writes.then(async () => {
      if (this.closed && !this.file) return;
      this.file ??= await open(this.path!, 'a');
      await this.file.write(line);
      // The log is rewritten from memory once what was appended since the last rewrite passes the budget.
      this.appendedBytes += line.length;
      if (this.appendedBytes > this.opts.maxBytes) await this.rewrite();
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
    this.appendedBytes = 0;
  }
}
