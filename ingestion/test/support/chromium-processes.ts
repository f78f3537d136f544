import { readdir, readFile } from 'node:fs/promises';

interface ProcessInfo {
  pid: number;
  command: string;
  session: number;
  environment: string;
}

async function processes(): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After the command: state, ppid, pgrp, session.
      const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
      // Chromium's zygotes and renderers hide their environment; they are found by session.
      const environment = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
      found.push({ pid: Number(name), command, session, environment });
    } catch {
      // ended while we looked
    }
  }
  return found;
}

/**
 * The Chromium processes a test started: those that inherited `marker` (a `NAME=value` the test put in the
 * environment of whoever launches the browser: the browser and its crash handlers) and every process in the
 * sessions of those (the browser's zygotes and renderers, even once orphaned).
 */
export class ChromiumProcesses {
  private readonly sessions = new Set<number>();

  constructor(private readonly marker: string) {}

  /** The processes now; the sessions seen are remembered, so that orphans are found after the browser is gone. */
  async list(): Promise<ProcessInfo[]> {
    const all = await processes();
    const marked = all.filter((p) => p.command.startsWith('chrom') && p.environment.split('\0').includes(this.marker));
    for (const p of marked) this.sessions.add(p.session);
    return all.filter((p) => marked.includes(p) || (this.sessions.has(p.session) && p.pid !== process.pid));
  }
}
