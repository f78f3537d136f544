import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './support/backends.js';

// postgres.js 3.4.9 runs an array-types query first on every new connection and drops the promise of it
// (porsager/postgres#1192, #1205, #1223): when that query fails the rejection is unhandled and ends the process, and a
// connection killed during it replays the old error onto the first query after reconnecting.
// patches/postgres@3.4.9.patch
// fixes both; each scenario runs in its own process, as an unhandled rejection would end it.
const script = fileURLToPath(new URL('./fixtures/postgres-startup-failure.mjs', import.meta.url));
const run = async (scenario: string) => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, scenario, TEST_DATABASE_URL], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    unhandled: string[];
    first: { ok: boolean; code?: string };
    second: { ok: boolean; value?: number };
  };
};

describe('postgres.js when its start-up types query fails', () => {
  it(
    'when the types query is cancelled by a statement timeout, then nothing is left unhandled and the caller ' +
      'sees the error or its rows',
    async () => {
      const outcome = await run('cancelled');
      expect(outcome.unhandled).toEqual([]);
      if (!outcome.first.ok) expect(outcome.first.code).toBe('57014');
    },
  );

  it(
    'when the backend is terminated during the types query, then the driver reconnects, the first query gets ' +
      'its rows and nothing is left unhandled',
    async () => {
      const outcome = await run('terminated');
      expect(outcome.unhandled).toEqual([]);
      expect(outcome.first).toEqual({ ok: true, value: 1 });
      expect(outcome.second).toEqual({ ok: true, value: 1 });
    },
  );
});
