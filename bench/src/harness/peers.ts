import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { repoRoot } from './paths.js';

/** What a figure is compared with when it is not Lizards code: a name and the version measured. */
export interface Peer {
  name: string;
  version: string;
}

/** A peer (or another part of a bench) that could not run, by name, with the reason. */
export interface Skipped {
  name: string;
  reason: string;
}

/** "name version", as the results table shows a peer. */
export function peerLabel(peer: Peer): string {
  return `${peer.name} ${peer.version}`;
}

/** The installed version of a package the bench depends on (from its package.json). */
export async function packageVersion(name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(`${repoRoot}bench/node_modules/${name}/package.json`, 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** A peer that is an npm package of the bench, e.g. `await packagePeer('socket.io')`. */
export async function packagePeer(name: string): Promise<Peer> {
  return { name, version: await packageVersion(name) };
}

/** The path of an executable on PATH or in the sbin directories (Debian puts nginx in /usr/sbin), or undefined. */
export async function findProgram(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of new Set(dirs)) {
    try {
      await access(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The version a program prints for `flag`, matched by `pattern` (first group) in stdout or stderr: `nginx -v`
 * writes to stderr, `wrk -v` exits 1 after printing it.
 */
export function programVersion(file: string, flag: string, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, [flag], { timeout: 5000 }, (_err, stdout, stderr) => {
      resolve(`${stdout}\n${stderr}`.match(pattern)?.[1] ?? 'unknown');
    });
  });
}
