// `node bench/dist/profile-summary.js <file.cpuprofile> [top]`: where a server under test spent its busy CPU time,
// as self time per function and per package/file (run a bench with BENCH_CPU_PROF=<dir> first).
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const m = url.match(/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1]!;
  const own = url.match(/\/([^/]+)\/dist\/(.*)$/);
  if (own) return `${own[1]}/${own[2]}`;
  return url.startsWith('node:') ? url : url || '(native/gc/idle)';
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary <file.cpuprofile> [top]\n');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fnSelf = new Map<string, number>();
const modSelf = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName || '(anonymous)';
  const key = `${name} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  const mod = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : where(n.callFrame.url);
  modSelf.set(mod, (modSelf.get(mod) ?? 0) + us);
}
const top = Number(topArg ?? 25);
// Shares of busy time: a server under test idles while a bench measures the others, which says nothing about it.
const idle = modSelf.get('(idle)') ?? 0;
modSelf.delete('(idle)');
fnSelf.delete([...fnSelf.keys()].find((k) => k.startsWith('(idle) ')) ?? '');
const busy = total - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; shares of busy time\n\n` +
    'self time by package / file:\n',
);
for (const [k, v] of [...modSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`);
process.stdout.write('\nself time by function:\n');
for (const [k, v] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`);
