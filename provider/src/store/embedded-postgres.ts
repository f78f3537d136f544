import { Worker } from 'node:worker_threads';

export interface EmbeddedPostgres {
  /** A postgres:// URL for one connection at a time (PGlite has a single backend). */
  url: string;
  stop(): Promise<void>;
}

// The same path from src/store (tests) and dist/store: the worker always runs the built JavaScript.
const WORKER = new URL('../../dist/store/pglite-worker.js', import.meta.url);

/** Starts PGlite on a worker thread, served over the PostgreSQL wire protocol on 127.0.0.1:<free port>. */
export async function startEmbeddedPostgres(opts: { dataDir?: string }): Promise<EmbeddedPostgres> {
  const worker = new Worker(WORKER, { workerData: { dataDir: opts.dataDir } });
  const conn = await new Promise<string>((resolve, reject) => {
    const onMessage = (m: { type: string; conn?: string }) => {
      if (m.type !== 'ready') return;
      cleanup();
      resolve(m.conn!);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`embedded PostgreSQL (PGlite) failed to start: ${err.message}`, { cause: err }));
    };
    const onExit = (code: number) => onError(new Error(`worker exited with code ${code}`));
    const cleanup = () => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
  worker.on('error', () => undefined);
  return {
    url: `postgres://postgres@${conn}/postgres`,
    stop: async () => {
      const stopped = new Promise<void>((resolve) =>
        worker.on('message', (m: { type: string }) => m.type === 'stopped' && resolve()),
      );
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000))]);
      await worker.terminate();
    },
  };
}
