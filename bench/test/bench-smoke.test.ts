import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// The built bench, like the servers and load generators it spawns (registry/dist, gateway/dist, provider/dist,
// ingestion/dist, bench/dist): run `npx tsc -b` first. Its declarations also keep the services' dist types (which the
// pipeline bench uses) apart from the src types their own tests type-check.
import {
  dashboardFirstView,
  gatewayOverhead,
  historyScale,
  pipelineBench,
  registryBench,
  runBench,
  wsFanout,
  type BenchResult,
} from '../dist/index.js';

// Proves the harness works end to end, that every peer answers correctly (or is reported skipped by name) and that
// correctness is checked; it never asserts on speed. The quick runs are independent, so they run side by side (about
// 30 s of CPU in all; the time bounds leave room for a machine shared with other test runs).
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

const figure = (result: BenchResult, name: string) => result.figures.find((f) => f.name === name);
const skippedNames = (result: BenchResult) => result.skipped.map((s) => s.name);

describe.concurrent('quick bench runs', () => {
  it('when the registry bench runs quick, then every request ' +
    'was 2xx and its result and table are written', async () => {
    const result = await runBench('registry', registryBench, { quick: true, save: true, resultsDir: dir });
    expectWellFormed(result);
    expect(result.checks.join('\n')).toMatch(/all 2xx/);
    expect(result.checks.join('\n')).toMatch(/100 instances are still listed/);
    const saved = JSON.parse(await readFile(join(dir, 'registry.json'), 'utf8')) as BenchResult;
    expect(saved.figures.map((f) => f.name)).toEqual(result.figures.map((f) => f.name));
    const table = await readFile(join(dir, 'README.md'), 'utf8');
    expect(table).toContain('| bench | figure | value | baseline | peer | ratio | target | met | run |');
    expect(table).toContain('| registry | resolve with 100 instances |');
  }, 240_000);

  it('when gateway-overhead runs quick, then nginx, @fastify/http-proxy and the gateway answered like the ' +
    'upstream, each peer named with its version or skipped by name', async () => {
    const result = await runBench('gateway-overhead', gatewayOverhead, { quick: true, save: false });
    expectWellFormed(result);
    expect(result.checks[0]).toMatch(/every target's body equals the direct body/);
    expect(figure(result, 'throughput via gateway, Redis rate limit')?.ratio).toBeGreaterThan(0);
    expect(figure(result, 'gateway vs @fastify/http-proxy')?.peer).toMatch(
      /^@fastify\/http-proxy \d+\.\d+\.\d+ \+ @fastify\/rate-limit \d+\.\d+\.\d+$/,
    );
    const nginx = figure(result, 'gateway vs nginx');
    if (nginx) expect(nginx.peer).toMatch(/^nginx \d+\.\d+\.\d+$/);
    else expect(skippedNames(result)).toContain('nginx');
    expect(
      Boolean(figure(result, 'gateway 2 workers vs 1 worker')) ||
        skippedNames(result).includes('gateway 1 -> 2 workers'),
    ).toBe(true);
    expect(result.config.loadGenerator).toMatch(/^(wrk|autocannon)/);
  }, 240_000);

  it('when ws-fanout runs quick, then the provider, bare ws and Socket.IO each delivered ticks to their ' +
    'clients, in order and without errors', async () => {
    const result = await runBench('ws-fanout', wsFanout, { quick: true, save: false });
    expect(result.checks).toHaveLength(3);
    for (const server of ['bare', 'socket.io', 'provider']) {
      expect(result.checks.join('\n')).toMatch(
        new RegExp(
          `^${server}, 50 clients: .*0 repeated/out of order, ` +
            '0 sockets closed early, 0 socket errors, 0 error messages',
          'm',
        ),
      );
      const steps = (result.config.steps as Record<string, { delivered: number }[]>)[`${server}, 50 clients`]!;
      expect(
        steps.some((s) => s.delivered > 0),
        server,
      ).toBe(true);
    }
    expect(result.checks.join('\n')).toMatch(/provider, 50 clients: .* (\d+) ticks published, \1 stored rows/);
    const vsSocketIo = figure(result, '50 clients: capacity, provider vs Socket.IO');
    if (vsSocketIo)
      expect(vsSocketIo.peer).toMatch(/^socket\.io \d+\.\d+\.\d+ \(clients: socket\.io-client \d+\.\d+\.\d+\)$/);
    else expect(skippedNames(result)).toContain('50 clients: capacity ratio provider / Socket.IO');
    expect(figure(result, '50 clients: p99 tick-to-client at 2500 offered')?.peer).toMatch(/^ws \d/);
  }, 240_000);

  it('when pipeline runs quick, then the COPY consumer and ' +
    'the provider each stored every tick exactly once', async () => {
    const result = await runBench('pipeline', pipelineBench, { quick: true, save: false });
    expectWellFormed(result);
    expect(result.checks.join('\n')).toMatch(/COPY consumer: 2000\/2000 rows counted/);
    expect(result.checks.join('\n')).toMatch(/2000\/2000 rows stored after/);
    const vsCopy = figure(result, 'stored end to end vs the COPY consumer');
    expect(vsCopy?.ratio).toBeGreaterThan(0);
    expect(vsCopy?.peer).toMatch(/^amqplib \d+\.\d+\.\d+ \+ postgres \d+\.\d+\.\d+ COPY/);
  }, 240_000);

  it('when history-scale runs quick, then both stores answered every query alike and the migration kept every ' +
    'row', async () => {
    const result = await runBench('history-scale', historyScale, { quick: true, save: false });
    expectWellFormed(result);
    expect(result.checks.filter((c) => c.includes('body equals the unpartitioned one'))).toHaveLength(2);
    expect(result.checks.filter((c) => c.includes('migration 002 kept all'))).toHaveLength(2);
    expect(result.figures.map((f) => f.name)).toContain('30k rows: candles 30 d at 1 h p50');
  }, 120_000);

  it('when dashboard-first-view runs quick, then each first visit showed the default watchlist priced', async () => {
    const result = await runBench('dashboard-first-view', dashboardFirstView, { quick: true, save: false });
    expectWellFormed(result);
    expect(result.checks.join('\n')).toMatch(/^2 first visits .*AAPL MSFT NVDA TSLA AMZN GOOGL META in order/);
    expect(figure(result, 'first visit to every default row priced p50')?.value).toBeGreaterThan(0);
  }, 180_000);
});
