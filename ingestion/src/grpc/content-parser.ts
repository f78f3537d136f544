import { InvalidContentError } from '@lizards/lib';
import type { ParsedDocument } from '../sources/source.js';

const CSV_COLUMNS = new Set(['symbol', 'price', 'timestamp', 'source', 'volume']);
const REQUIRED_COLUMNS = ['symbol', 'price', 'timestamp'];
const NUMERIC_COLUMNS = new Set(['price', 'volume']);

export interface ParsedContent {
  format: 'json' | 'csv';
  candidates: unknown[];
}

function unquote(field: string): string {
  const f = field.trim();
  return f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f;
}

/** A CSV number stays a number; anything else stays the text it was, for the tick schema to reject by name. */
function csvValue(column: string, text: string): unknown {
  if (!NUMERIC_COLUMNS.has(column)) return text;
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : text;
}

function parseCsv(text: string): unknown[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]!.split(',').map((h) => unquote(h).toLowerCase());
  const unknown = header.find((h) => !CSV_COLUMNS.has(h));
  if (unknown !== undefined) {
    throw new InvalidContentError(
      'content is neither JSON nor CSV with a header symbol,price,timestamp[,source][,volume] ' +
        `(unknown column "${unknown.slice(0, 20)}")`,
    );
  }
  const missing = REQUIRED_COLUMNS.find((c) => !header.includes(c));
  if (missing) throw new InvalidContentError(`CSV header: missing column "${missing}"`);
  if (new Set(header).size !== header.length) throw new InvalidContentError('CSV header: a column appears twice');
  if (lines.length === 1) throw new InvalidContentError('CSV: no rows after the header');
  return lines.slice(1).map((line, i) => {
    const fields = line.split(',').map(unquote);
    if (fields.length !== header.length) {
      throw new InvalidContentError(`CSV line ${i + 2}: expected ${header.length} fields, got ${fields.length}`);
    }
    const tick: Record<string, unknown> = {};
    header.forEach((column, j) => {
      const value = fields[j]!;
      if (value !== '' || !['source', 'volume'].includes(column)) tick[column] = csvValue(column, value);
    });
    return tick;
  });
}

/**
 * Pushed ticks are the caller's: a claimed `source` is dropped, so the pipeline stamps them with the document's own
 * (`grpc`).
 */
function withoutClaimedSource(candidate: unknown): unknown {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate) || !('source' in candidate))
    return candidate;
  const { source: _claimed, ...tick } = candidate as Record<string, unknown>;
  return tick;
}

/**
 * Reads ProcessData content: a JSON tick, a JSON array of ticks, or CSV rows (header
 * symbol,price,timestamp[,source][,volume]).
 * A `source` field or column is accepted and ignored.
 */
export function parseContent(content: string): ParsedContent {
  const parsed = parseCandidates(content);
  return { format: parsed.format, candidates: parsed.candidates.map(withoutClaimedSource) };
}

function parseCandidates(content: string): ParsedContent {
  const text = content.trim();
  if (text === '') throw new InvalidContentError('content is empty');
  if (text.startsWith('{') || text.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new InvalidContentError(`content is not valid JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(json)) {
      if (json.length === 0) throw new InvalidContentError('content is an empty array');
      return { format: 'json', candidates: json };
    }
    return { format: 'json', candidates: [json] };
  }
  return { format: 'csv', candidates: parseCsv(text) };
}

/** ProcessData content as a parsed document: unreadable content is a `malformed_content` problem, not an exception. */
export function parseContentDocument(content: string): ParsedDocument & { format?: ParsedContent['format'] } {
  try {
    const parsed = parseContent(content);
    return { candidates: parsed.candidates, problems: [], format: parsed.format };
  } catch (err) {
    return { candidates: [], problems: [{ reason: 'malformed_content', message: (err as Error).message }] };
  }
}
