import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request } from 'undici';

/** Local backing services; overridable for other machines. */
export const backends = {
  databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
};

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** Output the process printed (kept for error messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  script: string;
  env: Record<string, string>;
  nodeArgs?: string[];
  /** Path answering 2xx once the process is ready. */
  readyPath?: string;
  readyTimeoutMs?: number;
}

/** Spawns `node <script>` on a free port and waits until `readyPath` answers 2xx. */
export async function startService(opts: StartOptions): Promise<ServiceProcess> {
  const port = opts.env.PORT ? Number(opts.env.PORT) : await freePort();
  // BENCH_CPU_PROF=<dir>: every server under test writes a V8 CPU profile there when it stops (see profile-summary.ts).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${opts.name.replace(/\W+/g, '-')}-${port}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...profile, ...(opts.nodeArgs ?? []), opts.script], {
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', PORT: String(port), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exited) throw new Error(`${opts.name} exited before it was ready:\n${output}`);
    try {
      const res = await request(`${url}${opts.readyPath ?? '/health'}`);
      await res.body.dump();
      if (res.statusCode < 300) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} not ready in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name: opts.name,
    url,
    port,
    child,
    output: () => output,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(force);
    },
  };
}

/** Registers an instance in the registry and returns its instance id. */
export async function registerInstance(registryUrl: string, serviceId: string, port: number, protocol = 'http'): Promise<string> {
  const res = await request(`${registryUrl}/services/${serviceId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: `${serviceId}-bench-${port}`, ip_address: '127.0.0.1', port_number: port, protocol }),
  });
  const body = (await res.body.json()) as { instance_id?: string };
  if (res.statusCode !== 200 || !body.instance_id) throw new Error(`register ${serviceId} failed: ${res.statusCode}`);
  return body.instance_id;
}

/** Polls `check` until it returns true or the time is up. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Stops every started process, in reverse order, whatever happens. */
export class ProcessGroup {
  private readonly processes: ServiceProcess[] = [];
  async start(opts: StartOptions): Promise<ServiceProcess> {
    const p = await startService(opts);
    this.processes.push(p);
    return p;
  }
  async stopAll(): Promise<void> {
    for (const p of this.processes.reverse()) await p.stop().catch(() => undefined);
    this.processes.length = 0;
  }
}
