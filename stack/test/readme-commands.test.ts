import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '@lizards/testkit';
import { REPO_ROOT } from './support/stack-process.js';

// A fresh clone builds the whole workspace on its first command: generous bounds for a loaded 2-core machine.
const FIRST_BUILD_MS = 240_000;
const NEXT_COMMAND_MS = 120_000;

/** A README command run as a user runs it in a terminal: `pnpm …` in its own process group, Ctrl-C to the group. */
class Command {
  readonly child: ChildProcess;
  private out = '';
  readonly exited: Promise<number | null>;

  constructor(cwd: string, args: string[], env: Record<string, string>) {
    const base = { ...process.env };
    for (const key of [
      'DATABASE_URL',
      'DATABASE_READ_URL',
      'AMQP_URL',
      'REDIS_URL',
      'MONGO_URL',
      'REGISTRY_URL',
      'GATEWAY_URL',
      'PORT',
    ])
      delete base[key];
    this.child = spawn('pnpm', args, {
      cwd,
      env: { ...base, LOG_LEVEL: 'info', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  output(): string {
    return this.out;
  }

  waitForOutput(text: string | RegExp, timeoutMs: number): Promise<void> {
    return waitFor(
      () => (typeof text === 'string' ? this.out.includes(text) : text.test(this.out)) || undefined,
      timeoutMs,
      `${String(text)} in the output of pnpm ${this.child.spawnargs.slice(1).join(' ')}; ` +
        `so far:\n${this.out.slice(-3000)}`,
      100,
      () =>
        this.child.exitCode !== null ? `it exited with ${this.child.exitCode}:\n${this.out.slice(-3000)}` : undefined,
    ).then(() => undefined);
  }

  /** Ctrl-C: SIGINT to the whole foreground process group (pnpm and what it started), as a terminal sends it. */
  async interrupt(): Promise<number | null> {
    process.kill(-this.child.pid!, 'SIGINT');
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null) {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

describe('the README commands, from a fresh clone', () => {
  let workDir: string;
  let clone: string;
  const running: Command[] = [];
  const run = (args: string[], env: Record<string, string> = {}) => {
    const command = new Command(clone, args, env);
    running.push(command);
    return command;
  };

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'lizards-clone-'));
    clone = join(workDir, 'lizards');
    execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone], { stdio: 'pipe' });
    // The README's first command; the packages come from the local pnpm store that this checkout's install filled.
    execFileSync('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], {
      cwd: clone,
      stdio: 'pipe',
      timeout: 180_000,
    });
  }, 200_000);

  afterAll(() => {
    for (const command of running) command.kill();
    rmSync(workDir, { recursive: true, force: true });
  });

  it(
    'when each service is started alone with pnpm --filter before anything is built, then it builds what it ' +
      'needs, registers, and Ctrl-C ends it with exit 0',
    async () => {
      const registryPort = await freePort();
      const registryUrl = `http://127.0.0.1:${registryPort}`;
      const registry = run(['--filter', '@lizards/registry', 'start'], { PORT: String(registryPort) });
      await registry.waitForOutput('registry ready', FIRST_BUILD_MS);
      const listed = await request(`${registryUrl}/services`);
      expect(listed.statusCode).toBe(200);
      await listed.body.dump();

      for (const service of ['provider', 'ingestion', 'gateway']) {
        const alone = run(['--filter', `@lizards/${service}`, 'start'], { REGISTRY_URL: registryUrl, PORT: '0' });
        await waitFor(
          async () => {
            const res = await request(`${registryUrl}/services/${service}`);
            await res.body.dump();
            return res.statusCode === 200 || undefined;
          },
          NEXT_COMMAND_MS,
          `${service} to register; its output:\n${alone.output().slice(-3000)}`,
          100,
          () =>
            alone.child.exitCode !== null
              ? `${service} exited with ${alone.child.exitCode}:\n${alone.output().slice(-3000)}`
              : undefined,
        );
        expect(await alone.interrupt(), alone.output().slice(-3000)).toBe(0);
        expect(alone.output()).not.toContain('ELIFECYCLE');
      }

      expect(await registry.interrupt(), registry.output().slice(-3000)).toBe(0);
      expect(registry.output()).not.toContain('ELIFECYCLE');
    },
    FIRST_BUILD_MS + 4 * NEXT_COMMAND_MS,
  );

  it(
    'when pnpm start runs, then the banner comes, pnpm lizards services and watch work, and Ctrl-C ends each ' +
      'quietly with exit 0',
    async () => {
      const [gatewayPort, registryPort] = [await freePort(), await freePort()];
      const start = run(['start'], {
        GATEWAY_PORT: String(gatewayPort),
        REGISTRY_PORT: String(registryPort),
        LOG_LEVEL: 'warn',
      });
      await start.waitForOutput('Ctrl-C to stop.', NEXT_COMMAND_MS);

      const services = run(['lizards', 'services'], { REGISTRY_URL: `http://127.0.0.1:${registryPort}` });
      expect(await services.exited, services.output()).toBe(0);
      expect(services.output()).toMatch(/provider/);

      const watch = run(['lizards', 'watch', 'AAPL'], { GATEWAY_URL: `http://127.0.0.1:${gatewayPort}` });
      await watch.waitForOutput(/AAPL\s+\S?\s*\d+\.\d{2}/, NEXT_COMMAND_MS);
      expect(await watch.interrupt(), watch.output().slice(-3000)).toBe(0);
      expect(watch.output()).not.toContain('ELIFECYCLE');

      expect(await start.interrupt(), start.output().slice(-3000)).toBe(0);
      expect(start.output().trimEnd()).toMatch(/stopped\.$/);
      expect(start.output()).not.toContain('ELIFECYCLE');
    },
    3 * NEXT_COMMAND_MS,
  );
});
