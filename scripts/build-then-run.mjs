// Behind `pnpm start`, `pnpm lizards` and each service's `start`: builds what the entry point needs (its package and
// the workspace packages it depends on, dashboard assets included), then runs the entry point in this same process.
// usage: node scripts/build-then-run.mjs <package dir> <entry point> [args...]   (paths relative to the working dir)
// One Node process under pnpm, so Ctrl-C reaches the service itself, which shuts down and exits 0; with
// shellEmulator (pnpm-workspace.yaml) pnpm then exits 0 too instead of reporting ELIFECYCLE.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, entry, ...args] = process.argv.slice(2);
if (!packageDir || !entry) {
  process.stderr.write('usage: node scripts/build-then-run.mjs <package dir> <entry point> [args...]\n');
  process.exit(2);
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
run(process.execPath, [tsc, '-b', resolve(packageDir)]);
const { name } = JSON.parse(readFileSync(resolve(packageDir, 'package.json'), 'utf8'));
// `<name>...` selects the package and everything it depends on in the workspace.
run('pnpm', ['-s', '--filter', `${name}...`, 'run', '--if-present', 'build:assets']);

const entryPath = resolve(entry);
process.argv = [process.argv[0], entryPath, ...args];
await import(pathToFileURL(entryPath).href);
