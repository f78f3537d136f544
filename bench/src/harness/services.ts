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
  /** The admin listener: /health, /ready, /metrics. */
  adminUrl: string;
  child: ChildProcess;
  /** Output the process printed (kept for error messages). */
  output(): string;
  stop(): Promise<void>;
}

interface CommonStartOptions {
  name: string;
  env: Record<string, string>;
  /**
   * Path answering 2xx once the process is ready (/ready is asked on the admin listener, anything else on the public
   * port).
   */
  readyPath?: string;
  /** Default 60 s: on a shared machine under load a service can take that long to start. */
  readyTimeoutMs?: number;
}

/** A Node.js script (`node [nodeArgs] <script>`), or any other program (e.g. nginx) as `command`. */
export type StartOptions = CommonStartOptions &
  ({ script: string; nodeArgs?: string[] } | { command: { file: string; args: string[] } });

// A bench that exits half-way (an error past its cleanup; Ctrl-C, see exitOnSignals) must not leave servers behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Spawns `node <script>` (or `command`) on free ports (env PORT and ADMIN_PORT) and waits until `readyPath` answers
 * 2xx.
 */
export async function startService(opts: StartOptions): Promise<ServiceProcess> {
  const port = opts.env.PORT ? Number(opts.env.PORT) : await freePort();
  const adminPort = opts.env.ADMIN_PORT ? Number(opts.env.ADMIN_PORT) : await freePort();
  // BENCH_CPU_PROF=<dir>: every server under test writes a V8 CPU profile there when it stops (see profile-summary.ts).
  const profile = process.env.BENCH_CPU_PROF
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`,
        `--cpu-prof-name=${opts.name.replace(/\W+/g, '-')}-${port}.cpuprofile`,
      ]
    : [];
  const [file, args] =
    'command' in opts
      ? [opts.command.file, opts.command.args]
      : [process.execPath, [...profile, ...(opts.nodeArgs ?? []), opts.script]];
  const child = spawn(file, args, {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  running.add(child);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${opts.name} exited before it was ready:\n${output}`);
    try {
      const readyPath = opts.readyPath ?? '/health';
      const res = await request(`${readyPath === '/ready' ? adminUrl : url}${readyPath}`);
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
    adminUrl,
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
export async function registerInstance(
  registryUrl: string,
  serviceId: string,
  port: number,
  protocol = 'http',
): Promise<string> {
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
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Stops every started process, in reverse order, whatever happens. */
export class ProcessGroup {
  private readonly processes: ServiceProcess[] = [];
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  async start(opts: StartOptions): Promise<ServiceProcess> {
    const p = await startService(opts);
    this.processes.push(p);
    return p;
  }
  /** Runs `cleanup` in stopAll once every process has stopped (e.g. removes the temp dir a process wrote to). */
  afterStop(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }
  async stopAll(): Promise<void> {
    for (const p of this.processes.reverse()) await p.stop().catch(() => undefined);
    this.processes.length = 0;
    for (const cleanup of this.cleanups.splice(0)) await cleanup().catch(() => undefined);
  }
}
