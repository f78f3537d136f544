import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const START_SCRIPT = 'stack/dist/start.js';

const BACKING_URLS = ['DATABASE_URL', 'DATABASE_READ_URL', 'AMQP_URL', 'REDIS_URL', 'MONGO_URL'];

export interface StackProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node stack/dist/start.js` from the repository root, as the README says (after `pnpm build`). */
export function spawnStack(env: Record<string, string>, args: string[] = []): StackProcess {
  const base = { ...process.env };
  for (const key of BACKING_URLS) delete base[key];
  const child = spawn(process.execPath, [START_SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env: { ...base, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** Every process below `pid` (children, grandchildren, ...), from `ps`. */
export function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [p, pp] of rows) {
      if (pp === parent) {
        found.push(p);
        queue.push(p);
      }
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
