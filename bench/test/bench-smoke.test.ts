import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../src/harness/bench-runner.js';
import type { BenchResult } from '../src/harness/results.js';
import { gatewayOverhead } from '../src/gateway-overhead.js';
import { registryBench } from '../src/registry.js';

// Spawns the built servers (registry/dist, gateway/dist, bench/dist): run `npx tsc -b` first.
// Proves the harness works end to end and that correctness is checked; it never asserts on speed.
const dir = await mkdtemp(join(tmpdir(), 'lz-bench-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function expectWellFormed(result: BenchResult): void {
  expect(result.figures.length).toBeGreaterThan(0);
  for (const f of result.figures) {
    expect(Number.isFinite(f.value), f.name).toBe(true);
    if (f.baseline) expect(f.baseline.value, f.name).toBeGreaterThan(0);
  }
  expect(result.checks.length).toBeGreaterThan(0);
}

describe('quick bench runs', () => {
  it('when the registry bench runs quick, then every request was 2xx and its result and table are written', async () => {
    const result = await runBench('registry', registryBench, { quick: true, save: true, resultsDir: dir });
    expectWellFormed(result);
    expect(result.checks.join('\n')).toMatch(/all 2xx/);
    expect(result.checks.join('\n')).toMatch(/100 instances are still listed/);
    const saved = JSON.parse(await readFile(join(dir, 'registry.json'), 'utf8')) as BenchResult;
    expect(saved.figures.map((f) => f.name)).toEqual(result.figures.map((f) => f.name));
    const table = await readFile(join(dir, 'README.md'), 'utf8');
    expect(table).toContain('| registry | resolve with 100 instances |');
  }, 120_000);

  it('when gateway-overhead runs quick, then the gateway answered like the upstream with the limiter on and no cache', async () => {
    const result = await runBench('gateway-overhead', gatewayOverhead, { quick: true, save: false });
    expectWellFormed(result);
    expect(result.checks[0]).toMatch(/gateway body equals the direct body/);
    expect(result.figures.find((f) => f.name.startsWith('throughput via gateway, Redis'))?.ratio).toBeGreaterThan(0);
  }, 120_000);
});
