// What a server under test costs, read from Linux /proc (NaN / one process elsewhere): the benches share two cores
// with their load generators, so CPU per request or per delivery says more than a rate alone.
import { readFileSync, readdirSync } from 'node:fs';

/** The pids of a process and all its descendants (nginx's master and worker, a gateway's cluster workers). */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${tree[i]}/task`)) {
        for (const child of readFileSync(`/proc/${tree[i]}/task/${task}/children`, 'utf8').split(' ')) {
          if (child.trim()) tree.push(Number(child));
        }
      }
    } catch {
      // gone, or no /proc
    }
  }
  return tree;
}

/** User + system CPU time used so far by a process and its descendants, in ms. */
export function cpuMs(pid: number | undefined): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime and stime are fields 14 and 15 of stat (11 and 12 after "pid (comm) "), in clock ticks of 10 ms.
      total += (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return Number.NaN;
    }
  }
  return pid === undefined ? Number.NaN : total;
}
