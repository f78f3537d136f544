import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { stablePort, waitFor } from '@lizards/testkit';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LOG_CHARS = 8 * 1024 * 1024;
// Served by the admin listener (ADMIN_PORT); everything else by the public port.
const ADMIN_PATHS = new Set(['/ready', '/metrics']);

/** Free ports for a service process, its public one and its admin listener's: stable, so it can restart on them. */
export async function servicePorts(): Promise<{ port: number; adminPort: number }> {
  return { port: await stablePort(), adminPort: await stablePort() };
}

/** One real service process (`node <pkg>/dist/server.js`), its captured output, its ports and its RSS. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly port: number;
  readonly adminPort: number;
  log = '';

  constructor(
    readonly name: string,
    readonly pkg: string,
    ports: { port: number; adminPort: number },
    private readonly env: Record<string, string>,
  ) {
    ({ port: this.port, adminPort: this.adminPort } = ports);
    this.child = spawn(process.execPath, [`${ROOT}${pkg}/dist/server.js`], {
      env: { PATH: process.env.PATH ?? '', ADMIN_PORT: String(this.adminPort), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const capture = (d: Buffer) => {
      if (this.log.length < MAX_LOG_CHARS) this.log += d.toString();
    };
    this.child.stdout!.on('data', capture);
    this.child.stderr!.on('data', capture);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The admin listener: /health, /ready, /metrics. */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  /** Where `path` is served: /ready and /metrics on the admin listener, the rest on the public port. */
  private urlOf(path: string): string {
    return `${ADMIN_PATHS.has(path) ? this.adminUrl : this.url}${path}`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size in bytes, from /proc. */
  rss(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  }

  /** The status code `path` answers with. */
  async status(path: string): Promise<number> {
    const res = await request(this.urlOf(path));
    await res.body.dump();
    return res.statusCode;
  }

  /** Waits until `path` answers 200 (the process is up and, for /ready, its dependencies are). */
  async until(path = '/health', timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        try {
          const res = await request(this.urlOf(path), { headersTimeout: 2000, bodyTimeout: 2000 });
          await res.body.dump();
          return res.statusCode === 200;
        } catch {
          return false;
        }
      },
      timeoutMs,
      `${this.name} ${path}`,
      100,
      () =>
        this.alive
          ? undefined
          : `${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.log.slice(-3000)}`,
    );
  }

  /** The value of an unlabelled Prometheus series (or the sum of its labelled lines) from /metrics. */
  async metric(name: string): Promise<number> {
    const text = await (await request(`${this.adminUrl}/metrics`)).body.text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  /** The same service started again: same name, ports and environment (after a kill, as a supervisor would). */
  respawn(): ServiceProcess {
    return new ServiceProcess(this.name, this.pkg, { port: this.port, adminPort: this.adminPort }, this.env);
  }

  /** Set when the test stopped it; a process that exited otherwise crashed. */
  killed = false;

  /** What a crashed process last wrote, for the test report. */
  crashReport(): string | undefined {
    return this.alive || this.killed
      ? undefined
      : `${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.log.slice(-4000)}`;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.killed = true;
    if (this.alive) this.child.kill(signal);
    await this.exited;
  }
}
