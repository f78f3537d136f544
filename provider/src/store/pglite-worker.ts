import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

// PGlite (PostgreSQL in WebAssembly) runs on this thread: its start (initdb) and its queries then never
// hold up the service's event loop (and, in the all-in-one stack, every other part's): heartbeats stay on time.
const { dataDir } = workerData as { dataDir?: string };
const db = await PGlite.create(dataDir);
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
await server.start();
parentPort!.postMessage({ type: 'ready', conn: server.getServerConn() });
parentPort!.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  void (async () => {
    await server.stop();
    await db.close();
    parentPort!.postMessage({ type: 'stopped' });
    parentPort!.close();
  })();
});
