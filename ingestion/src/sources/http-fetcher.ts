import { FetchFailedError, redactUrl, ResponseTooLargeError } from '@lizards/lib';
import { request, type Dispatcher } from 'undici';
import type { PolledSourceId } from '../ticks/tick.js';
import type { FetchedDocument } from './source.js';

export interface HttpFetcherOptions {
  /** Largest response body read; a bigger one fails the fetch. */
  maxBodyBytes: number;
  userAgent?: string;
  dispatcher?: Dispatcher;
}

/** GETs a URL with undici and returns the raw document, whatever its status; secrets stay out of the stored URL. */
export class HttpFetcher {
  constructor(private readonly opts: HttpFetcherOptions) {}

  async get(
    source: PolledSourceId,
    url: string,
    signal: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<FetchedDocument> {
    const safeUrl = redactUrl(url);
    const fetchedAt = new Date();
    try {
      const res = await request(url, {
        method: 'GET',
        signal,
        headers: { 'user-agent': this.opts.userAgent ?? 'lizards-ingestion/0.1', accept: '*/*', ...headers },
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > this.opts.maxBodyBytes) {
          res.body.destroy();
          throw new ResponseTooLargeError(safeUrl, this.opts.maxBodyBytes);
        }
        chunks.push(chunk as Buffer);
      }
      const contentType = res.headers['content-type'];
      return {
        source,
        url: safeUrl,
        fetchedAt,
        status: res.statusCode,
        contentType: Array.isArray(contentType) ? contentType[0] : contentType,
        body: Buffer.concat(chunks).toString('utf8'),
      };
    } catch (err) {
      if ((err as { code?: string }).code === 'LZ_ERR_INGESTION_RESPONSE_TOO_LARGE') throw err;
      if (signal.aborted)
        throw signal.reason instanceof Error ? signal.reason : new FetchFailedError(safeUrl, 'aborted');
      // undici's messages may quote the URL: never let the API key through.
      throw new FetchFailedError(safeUrl, redactUrl((err as Error).message));
    }
  }
}
