import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface FixtureResponse {
  status?: number;
  /** File under test/fixtures, e.g. `stooq/quotes.csv`. */
  fixture?: string;
  body?: string;
  contentType?: string;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

export type FixtureRoute = (url: URL, req: http.IncomingMessage) => FixtureResponse;

export function fixture(path: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url)), 'utf8');
}

/** A local HTTP server answering with recorded source responses; it records every request it got. */
export class FixtureServer {
  readonly requests: { url: URL; headers: http.IncomingHttpHeaders; at: number }[] = [];
  private readonly server: http.Server;
  private readonly hanging = new Set<http.ServerResponse>();
  url = '';

  constructor(private route: FixtureRoute) {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.url);
      this.requests.push({ url, headers: req.headers, at: Date.now() });
      const r = this.route(url, req);
      if (r.hang) {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      const body = r.body ?? (r.fixture ? fixture(r.fixture) : '');
      res.writeHead(r.status ?? 200, { 'content-type': r.contentType ?? 'application/json' });
      res.end(body);
    });
  }

  setRoute(route: FixtureRoute): void {
    this.route = route;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
