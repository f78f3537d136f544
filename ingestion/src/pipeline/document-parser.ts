import { parseContentDocument } from '../grpc/content-parser.js';
import type { RawDocument } from '../raw-store/raw-store.js';
import type { ParsedDocument, Source } from '../sources/source.js';

/** How to parse a stored raw document again: with its source's parser, or the gRPC content parser. */
export function documentParser(sources: readonly Source[]): (doc: RawDocument) => (() => ParsedDocument) | undefined {
  const byId = new Map<string, Source>(sources.map((s) => [s.id, s]));
  return (doc) => {
    if (doc.source === 'grpc') return () => parseContentDocument(doc.body);
    const source = byId.get(doc.source);
    if (!source) return undefined;
    const fetched = {
      source: source.id,
      url: doc.url,
      fetchedAt: doc.fetched_at,
      status: doc.status,
      contentType: doc.content_type ?? undefined,
      body: doc.body,
    };
    return () => source.parse(fetched, { url: doc.url, symbols: doc.symbols ?? [...source.symbols] });
  };
}
