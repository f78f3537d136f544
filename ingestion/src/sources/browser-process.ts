import { readdir, readFile } from 'node:fs/promises';

// Playwright does not tell the pid of a browser it launched (only of one it serves), so it is found in Linux's
// /proc by an argument only that browser was given. Elsewhere these answer undefined and nothing is bounded.

/** The pid of a child of this process whose command line holds `argument`, if /proc shows one. */
export async function findChildProcess(argument: string): Promise<number | undefined> {
  const pids = await readdir('/proc').catch(() => []);
  for (const name of pids) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // Fields after the command, which is in parentheses and may hold spaces: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const args = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if (args.includes(argument)) return Number(name);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** A process's resident set size in bytes (VmRSS), or undefined when it is gone or /proc cannot tell. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
