import { PassThrough, pipeline, type Readable } from 'node:stream';

/** A body read whole (it fit), or a stream of all of it: what was read before the cap, then the rest. */
export type CappedBody = { whole: Buffer; stream?: undefined } | { whole?: undefined; stream: Readable };

/**
 * Reads `body` into memory unless it is longer than `maxBytes`: then stops reading and returns a stream that carries
 * the bytes already read and the rest of the body as the reader of that stream takes them (back-pressure reaches the
 * upstream). `contentLength`, when the upstream sent one, decides at once.
 */
export function readCapped(body: Readable, maxBytes: number, contentLength?: number): Promise<CappedBody> {
  if (contentLength !== undefined && contentLength > maxBytes) return Promise.resolve({ stream: body });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= maxBytes) return;
      stop();
      body.pause();
      const rest = new PassThrough();
      for (const c of chunks) rest.write(c);
      // A reader that goes away destroys `rest`, and the pipeline the upstream body (aborting its request); an upstream
      // error reaches the reader as an error of `rest`.
      pipeline(body, rest, () => undefined);
      resolve({ stream: rest });
    };
    const onEnd = () => {
      stop();
      resolve({ whole: Buffer.concat(chunks, size) });
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}
