// HTTP load from a separate process: wrk (C, little CPU taken from the servers it measures), or autocannon's CLI in a
// child Node.js process where wrk is not installed. Both report the same ThroughputResult.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autocannonThroughput, type AutocannonSummary, type ThroughputResult } from './http-load.js';
import { repoRoot } from './paths.js';
import { findProgram, packageVersion, programVersion, type Peer } from './peers.js';

export interface LoadOptions {
  url: string;
  path: string;
  connections: number;
  durationS: number;
}

export interface LoadGenerator {
  /** The tool and its version, recorded with the results. */
  tool: Peer;
  run(opts: LoadOptions): Promise<ThroughputResult>;
  close(): Promise<void>;
}

// wrk's done() hook: the summary as one JSON line (latencies in µs), instead of parsing its human-readable report.
const WRK_REPORT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

interface WrkReport {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

/** wrk when it is installed (Debian: /usr/bin/wrk), else autocannon's CLI in a child process. */
export async function loadGenerator(): Promise<LoadGenerator> {
  const wrk = await findProgram('wrk');
  if (wrk) return wrkGenerator(wrk);
  return {
    tool: { name: 'autocannon (wrk not found)', version: await packageVersion('autocannon') },
    run: runAutocannon,
    close: async () => undefined,
  };
}

async function wrkGenerator(file: string): Promise<LoadGenerator> {
  const dir = await mkdtemp(join(tmpdir(), 'lz-bench-wrk-'));
  const script = join(dir, 'report.lua');
  await writeFile(script, WRK_REPORT);
  return {
    tool: { name: 'wrk', version: await programVersion(file, '-v', /^wrk (\S+)/m) },
    run: async (opts) => {
      // One thread: one core's worth of load generator at most, the rest of the machine for the servers under test.
      const out = await exec(file, [
        '-t1',
        `-c${opts.connections}`,
        `-d${Math.max(1, Math.round(opts.durationS))}s`,
        '--timeout',
        '5s',
        '-s',
        script,
        `${opts.url}${opts.path}`,
      ]);
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (!line) throw new Error(`wrk printed no report:\n${out}`);
      const r = JSON.parse(line) as WrkReport;
      return {
        requestsPerSec: r.requests / (r.durationUs / 1e6),
        requests: r.requests,
        // wrk counts answers with a status above 399 as errors.status; the benches check the bodies before the load.
        non2xx: r.status,
        errors: r.connect + r.read + r.write,
        timeouts: r.timeout,
        latencyP50Ms: r.p50Us / 1000,
        latencyP99Ms: r.p99Us / 1000,
      };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function runAutocannon(opts: LoadOptions): Promise<ThroughputResult> {
  const cli = `${repoRoot}bench/node_modules/autocannon/autocannon.js`;
  const out = await exec(process.execPath, [
    cli,
    '--json',
    '-c',
    String(opts.connections),
    '-d',
    String(opts.durationS),
    `${opts.url}${opts.path}`,
  ]);
  return autocannonThroughput(JSON.parse(out.slice(out.indexOf('{'))) as AutocannonSummary, opts.durationS);
}

function exec(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
