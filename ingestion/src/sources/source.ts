import type { PolledSourceId } from '../ticks/tick.js';

/** One response from a source, exactly as received, before any transformation. */
export interface FetchedDocument {
  source: PolledSourceId;
  /** The requested URL with secrets (API keys) redacted. */
  url: string;
  fetchedAt: Date;
  /** HTTP status (200 for the simulated market). */
  status: number;
  contentType: string | undefined;
  body: string;
}

/** A problem with a whole response (not with one tick): logged, counted and recorded on the raw document. */
export interface SourceProblem {
  reason: SourceProblemReason;
  message: string;
  symbol?: string;
}

export type SourceProblemReason =
  | 'rate_limited'
  | 'unknown_symbol'
  | 'empty_body'
  | 'layout_changed'
  | 'auth_failed'
  | 'http_error'
  | 'bad_response'
  | 'malformed_content'
  | 'render_timeout';

/** What a parser made of a document: candidate ticks (validated later) and problems. */
export interface ParsedDocument {
  candidates: unknown[];
  problems: SourceProblem[];
}

/** One request a poll makes: the URL to fetch and the symbols it covers. */
export interface SourceRequest {
  url: string;
  symbols: string[];
}

/** A polled price source: plans its requests for a set of symbols, fetches one, parses the response. */
export interface Source {
  readonly id: PolledSourceId;
  /** What GET /sources lists for this source. */
  readonly baseUrl: string;
  readonly intervalMs: number;
  /** Every symbol this source is configured for (the scheduler narrows it to this instance's share). */
  readonly symbols: readonly string[];
  plan(symbols: readonly string[]): SourceRequest[];
  fetch(request: SourceRequest, signal: AbortSignal): Promise<FetchedDocument>;
  /** Parses a response; `request` says which symbols it was asked for. */
  parse(document: FetchedDocument, request: SourceRequest): ParsedDocument;
  /** Whether the source can fetch at all (one that drives a local program may lack it); available when absent. */
  availability?(): SourceAvailability;
  /** Releases what the source holds (e.g. a browser); called once, after the last poll. */
  close?(): Promise<void>;
}

export type SourceAvailability = { available: true } | { available: false; reason: string };

/** Problems that mean "slow down": the scheduler backs the source off when it sees one. */
export const BACKOFF_PROBLEMS: ReadonlySet<SourceProblemReason> = new Set([
  'rate_limited',
  'auth_failed',
  'http_error',
  'render_timeout',
]);

/** Joins a base URL and a path without doubling or losing the slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** An HTTP status that is not a success, as a problem (429 is a rate limit). */
export function statusProblem(document: FetchedDocument): SourceProblem | undefined {
  if (document.status === 429) return { reason: 'rate_limited', message: `HTTP 429 from ${document.source}` };
  if (document.status === 401 || document.status === 403)
    return { reason: 'auth_failed', message: `HTTP ${document.status} from ${document.source}` };
  if (document.status >= 400)
    return { reason: 'http_error', message: `HTTP ${document.status} from ${document.source}` };
  return undefined;
}
