import postgres from 'postgres';
import type { RabbitBus } from '@lizards/lib';
import { createTestSchema, deleteTopology, runId, testTopology, type TestTopology } from './backends.js';
import { connectBus } from './provider-harness.js';

/**
 * What one test file owns on the shared servers — a schema, exchanges and queues — with an admin connection to its
 * database and a publisher on its bus. `close()` removes all of it.
 */
export interface TestRun {
  topology: TestTopology;
  db: Awaited<ReturnType<typeof createTestSchema>>;
  admin: postgres.Sql;
  publisher: RabbitBus;
  close(): Promise<void>;
}

export async function openTestRun(run = runId()): Promise<TestRun> {
  const topology = testTopology(run);
  const db = await createTestSchema(run);
  const admin = postgres(db.url, { max: 2, onnotice: () => {} });
  const publisher = await connectBus().catch(async (err: unknown) => {
    await admin.end();
    throw err;
  });
  return {
    topology,
    db,
    admin,
    publisher,
    async close() {
      await publisher.close();
      await admin.end();
      await db.drop();
      await deleteTopology(topology);
    },
  };
}
