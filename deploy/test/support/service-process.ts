import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Pino JSON lines written so far (non-JSON lines as {msg}). */
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Starts `node <script>` in `cwd` with exactly `env` (plus PATH), as a container would. */
export function startService(name: string, script: string, cwd: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [script], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  let errors = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    name,
    child,
    lines,
    stderr: () => errors,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The `url` of the service's "ready" log line (runService's listening address), once it is written. */
export function readyUrl(service: ServiceProcess, message: string): string | undefined {
  const line = service.lines.find((l) => l.msg === message && typeof l.url === 'string');
  return line?.url as string | undefined;
}

/** Why waiting is pointless: the first of `services` that has exited, with the end of its stderr. */
export function exitedService(services: (ServiceProcess | undefined)[]): string | undefined {
  const dead = services.find((s) => s && (s.child.exitCode !== null || s.child.signalCode !== null));
  return dead && `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}): ${dead.stderr().slice(-2000)}`;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; gives up at once when `abort` tells why. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  abort?: () => string | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
