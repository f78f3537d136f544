import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LizardsError, LizardsHttpError } from '../src/errors.js';
import { RestClient } from '../src/rest/rest-client.js';

// The paging logic alone, against a stub serving both history shapes (the stack's own route is tested in
// client-against-stack.test.ts): pages that link to the next, and a single page without `next`.
function tick(i: number) {
  return {
    symbol: 'AAPL',
    price: 100 + i,
    timestamp: new Date(Date.UTC(2024, 8, 14, 12, 0, i)).toISOString(),
    source: 'simulated',
    volume: null,
    seq: String(i + 1),
  };
}

let server: Server;
let baseUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://stub');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const page = (from: number, to: number, next: string | null | undefined) =>
      json(200, {
        symbol: 'AAPL',
        from: 'a',
        to: 'b',
        prices: Array.from({ length: to - from }, (_, k) => tick(from + k)),
        ...(next === undefined ? {} : { next }),
      });
    const cursor = url.searchParams.get('cursor');
    switch (url.pathname) {
      case '/prices/AAPL/history':
        // Three pages: a relative link, an absolute same-origin one, then null.
        if (!cursor) return page(0, 2, `/prices/AAPL/history?limit=2&cursor=c2`);
        if (cursor === 'c2') return page(2, 4, `http://${req.headers.host}/prices/AAPL/history?limit=2&cursor=c4`);
        return page(4, 5, null);
      case '/prices/MSFT/history':
        return page(0, 3, undefined);
      case '/prices/EVIL/history':
        return page(0, 1, 'http://127.0.0.2:1/prices/EVIL/history?cursor=x');
      case '/prices/LOOP/history':
        return page(0, 1, '/prices/LOOP/history?cursor=same');
      case '/prices/NOPE':
        return json(404, {
          error: 'Not Found',
          message: 'Unknown symbol: NOPE',
          code: 'LZ_ERR_PROVIDER_UNKNOWN_SYMBOL',
        });
      case '/session':
        return json(
          429,
          { error: 'Too Many Requests', message: 'Rate limit exceeded, retry in 7 seconds' },
          { 'retry-after': '7' },
        );
      case '/symbols':
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>not json</html>');
      default:
        return json(404, { error: 'Not Found', message: 'no route' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('RestClient history pages', () => {
  it(
    'when pages link to the next (relative or absolute), ' + 'then every page is read in order until next is null',
    async () => {
      const client = new RestClient({ baseUrl });
      requests.length = 0;
      const pages = [];
      for await (const page of client.historyPages('AAPL', { from: new Date(Date.UTC(2024, 8, 14)), limit: 2 }))
        pages.push(page.prices.map((p) => p.seq));
      expect(pages).toEqual([['1', '2'], ['3', '4'], ['5']]);
      expect(requests).toEqual([
        'GET /prices/AAPL/history?from=2024-09-14T00%3A00%3A00.000Z&limit=2',
        'GET /prices/AAPL/history?limit=2&cursor=c2',
        'GET /prices/AAPL/history?limit=2&cursor=c4',
      ]);
      expect((await client.history('AAPL')).map((p) => p.price)).toEqual([100, 101, 102, 103, 104]);
    },
  );

  it('when the server does not page (no next in the body), then there is one page', async () => {
    const client = new RestClient({ baseUrl });
    expect((await client.history('MSFT', { limit: 3 })).map((p) => p.seq)).toEqual(['1', '2', '3']);
  });

  it(
    'when next points at another origin or back at a page already read, then iteration stops with ' +
      'LZ_ERR_CLIENT_BAD_NEXT',
    async () => {
      const client = new RestClient({ baseUrl });
      await expect(client.history('EVIL')).rejects.toMatchObject({ code: 'LZ_ERR_CLIENT_BAD_NEXT' });
      await expect(client.history('LOOP')).rejects.toMatchObject({ code: 'LZ_ERR_CLIENT_BAD_NEXT' });
    },
  );
});

describe('RestClient errors', () => {
  it(
    'when the server answers with a JSON error, then a LizardsHttpError carries the status, its message and ' + 'code',
    async () => {
      const err = await new RestClient({ baseUrl }).latest('NOPE').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LizardsHttpError);
      expect(err).toMatchObject({
        code: 'LZ_ERR_CLIENT_HTTP',
        status: 404,
        serverCode: 'LZ_ERR_PROVIDER_UNKNOWN_SYMBOL',
        message: 'GET /prices/NOPE answered 404: Unknown symbol: NOPE',
      });
    },
  );

  it('when a 429 carries Retry-After, then retryAfterMs says how long to wait', async () => {
    await expect(new RestClient({ baseUrl }).session()).rejects.toMatchObject({ status: 429, retryAfterMs: 7000 });
  });

  it('when a 200 body is not JSON, then LZ_ERR_CLIENT_REQUEST says so', async () => {
    await expect(new RestClient({ baseUrl }).symbols()).rejects.toMatchObject({ code: 'LZ_ERR_CLIENT_REQUEST' });
  });

  it('when nothing listens, then LZ_ERR_CLIENT_REQUEST keeps the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = (await new RestClient({ baseUrl: `http://127.0.0.1:${port}` })
      .symbols()
      .catch((e: unknown) => e)) as LizardsError;
    expect(err).toBeInstanceOf(LizardsError);
    expect(err.code).toBe('LZ_ERR_CLIENT_REQUEST');
    expect(err.cause).toBeDefined();
  });

  it('when a call is aborted, then the abort error comes through as it is', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(new RestClient({ baseUrl }).symbols({ signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
