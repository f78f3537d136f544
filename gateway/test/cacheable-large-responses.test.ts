import { createHash } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { waitFor } from '@lizards/testkit';
import type { RunningGateway } from './support/gateway-server.js';
import { startRawUpstreamBehindGateway, type RawUpstreamBehindGateway } from './support/raw-upstream.js';

const MiB = 1 << 20;
const CHUNK = Buffer.alloc(64 * 1024);
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = i % 251;
const HUGE_CHUNKS = 1024; // 64 MiB, against CACHE_MAX_BODY_BYTES of 1 MiB
/** What the upstream may have written before the client reads: the cache's cap plus socket and stream buffers. */
const HELD_BACK_BYTES = 16 * MiB;

interface Sent {
  bytes: number;
  /** Writing waits for the gateway to read (back-pressure). */
  held: boolean;
  closed: boolean;
}

/** Answers `/prices/huge*` with 64 MiB, written only as fast as the gateway reads; `-sized` with a Content-Length. */
function answerHuge(sent: Map<string, Sent>, hits: Map<string, number>): RequestListener {
  return (req, res) => {
    const path = req.url!.split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const state: Sent = { bytes: 0, held: false, closed: false };
    sent.set(path, state);
    res.on('close', () => (state.closed = true));
    if (path === '/prices/small') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(CHUNK.subarray(0, 1000));
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(path.endsWith('-sized') ? { 'content-length': String(CHUNK.length * HUGE_CHUNKS) } : {}),
    });
    let chunks = 0;
    const more = () => {
      state.held = false;
      while (chunks < HUGE_CHUNKS && !state.closed) {
        chunks += 1;
        state.bytes += CHUNK.length;
        if (!res.write(CHUNK)) {
          state.held = true;
          return void res.once('drain', more);
        }
      }
      res.end();
    };
    more();
  };
}

const expectedHash = (() => {
  const hash = createHash('sha256');
  for (let i = 0; i < HUGE_CHUNKS; i++) hash.update(CHUNK);
  return hash.digest('hex');
})();

async function readAll(body: AsyncIterable<Buffer>): Promise<{ bytes: number; hash: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, hash: hash.digest('hex') };
}

describe('cacheable responses larger than CACHE_MAX_BODY_BYTES', () => {
  let setup: RawUpstreamBehindGateway;
  let gateway: RunningGateway;
  const sent = new Map<string, Sent>();
  const hits = new Map<string, number>();
  const client = new Agent();
  const get = (path: string) => request(`${gateway.url}${path}`, { dispatcher: client });

  beforeAll(async () => {
    setup = await startRawUpstreamBehindGateway('huge', answerHuge(sent, hits), {
      CACHE_MAX_BODY_BYTES: String(MiB),
      CACHE_MAX_BYTES: String(8 * MiB),
    });
    gateway = setup.gateway;
  });

  afterAll(async () => {
    await client.destroy();
    await setup?.close();
  });

  it.each(['/prices/huge', '/prices/huge-sized'])(
    'when %s is not read by the client, then the upstream is held back near the cap (memory bounded); read, ' +
      'every byte arrives; nothing is stored',
    async (path) => {
      const res = await get(path);
      const atHeaders = sent.get(path)!.bytes;
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-cache']).toBe('MISS');
      if (path.endsWith('-sized')) expect(res.headers['content-length']).toBe(String(CHUNK.length * HUGE_CHUNKS));
      expect(atHeaders).toBeLessThan(HELD_BACK_BYTES);
      // Not read yet: the gateway, not buffering, passes the client's back-pressure on to the upstream.
      await waitFor(() => sent.get(path)!.held, 10_000, 'the upstream to be held back');
      expect(sent.get(path)!.bytes).toBeLessThan(HELD_BACK_BYTES);

      expect(await readAll(res.body as AsyncIterable<Buffer>)).toEqual({
        bytes: CHUNK.length * HUGE_CHUNKS,
        hash: expectedHash,
      });
      const again = await get(path);
      expect(again.headers['x-cache']).toBe('MISS');
      await again.body.dump();
      expect(hits.get(path)).toBe(2);
    },
  );

  it(
    'when requests for one huge response come at once, then each gets the whole body from its own upstream ' +
      'request',
    async () => {
      const path = '/prices/huge-together';
      const answers = await Promise.all(
        Array.from({ length: 4 }, async () => readAll((await get(path)).body as AsyncIterable<Buffer>)),
      );
      for (const a of answers) expect(a).toEqual({ bytes: CHUNK.length * HUGE_CHUNKS, hash: expectedHash });
      expect(hits.get(path)).toBe(4);
    },
  );

  it('when the client leaves during a huge cacheable response, then the upstream request is aborted', async () => {
    const path = '/prices/huge-abandoned';
    const res = await get(path);
    for await (const chunk of res.body) if ((chunk as Buffer).length > 0) break;
    await waitFor(() => sent.get(path)!.closed, 10_000, 'the upstream request to close');
    expect(sent.get(path)!.bytes).toBeLessThan(HELD_BACK_BYTES);
  });

  it('when a response fits the cap, then it is stored as before', async () => {
    const first = await get('/prices/small');
    await first.body.dump();
    const second = await get('/prices/small');
    expect(second.headers['x-cache']).toBe('HIT');
    expect((await second.body.arrayBuffer()).byteLength).toBe(1000);
    expect(hits.get('/prices/small')).toBe(1);
  });
});
