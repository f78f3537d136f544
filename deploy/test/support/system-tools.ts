import { execFileSync, spawnSync } from 'node:child_process';

const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;

/**
 * Makes sure `tool` is on PATH, installing the Debian package `pkg` with apt-get when it is missing and we may
 * (root with apt-get). Returns undefined when the tool is there, otherwise why it could not be had (the test skips).
 */
export function ensureAptTool(tool: string, pkg: string): string | undefined {
  if (onPath(tool)) return undefined;
  if (!onPath('apt-get')) return `${tool} is missing and there is no apt-get to install ${pkg}`;
  if (process.getuid?.() !== 0)
    return `${tool} is missing; install it with: sudo apt-get install -y --no-install-recommends ${pkg}`;
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (err) {
    return `${tool} is missing and apt-get install ${pkg} failed: ${(err as Error).message.split('\n')[0]}`;
  }
  return onPath(tool) ? undefined : `${tool} is still missing after apt-get install ${pkg}`;
}
