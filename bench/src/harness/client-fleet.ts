import { fork, type ChildProcess } from 'node:child_process';
import type { ClientCommand, ClientProtocol, ClientStats } from '../ws-clients.js';
import { benchScript } from './paths.js';

export interface FleetOptions {
  url: string;
  protocol: ClientProtocol;
  clients: number;
  /** Child processes the clients are spread over. */
  processes: number;
  symbols: string[];
  /** Snapshot entries stamped before this are not deliveries (see ws-clients.ts). */
  liveAfter: number;
  awaitSnapshot: boolean;
}

/** WebSocket clients spread over child processes (the load generator lives apart from the server and this process). */
export class ClientFleet {
  private constructor(private readonly children: ChildProcess[]) {}

  static async open(o: FleetOptions): Promise<ClientFleet> {
    // BENCH_CPU_PROF profiles the load generators too (ws-clients-<pid>.cpuprofile), to see what they take from the
    // server.
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const children = Array.from({ length: o.processes }, () =>
      fork(benchScript('ws-clients.js'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [...process.execArgv, ...profile],
      }),
    );
    const fleet = new ClientFleet(children);
    try {
      await Promise.all(
        children.map((child, i) => {
          const share = Math.floor(o.clients / o.processes) + (i < o.clients % o.processes ? 1 : 0);
          const { url, protocol, symbols, liveAfter, awaitSnapshot } = o;
          return fleet.ask(
            child,
            { type: 'open', url, protocol, clients: share, symbols, liveAfter, awaitSnapshot },
            'opened',
          );
        }),
      );
    } catch (err) {
      fleet.close();
      throw err;
    }
    return fleet;
  }

  /** Starts counting afresh (a step of a rate search): only ticks stamped at or after `countFrom` count. */
  async reset(countFrom: number): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, { type: 'reset', countFrom }, 'reset')));
  }

  /** Every child's counters, merged. */
  async collect(): Promise<ClientStats> {
    const all = await Promise.all(
      this.children.map((c) => this.ask(c, { type: 'collect' }, 'stats') as Promise<{ stats: ClientStats }>),
    );
    const merged = all
      .map((a) => a.stats)
      .reduce((a, b) => ({
        clients: a.clients + b.clients,
        open: a.open + b.open,
        closedEarly: a.closedEarly + b.closedEarly,
        errors: a.errors + b.errors,
        messages: a.messages + b.messages,
        ticks: a.ticks + b.ticks,
        minTicks: Math.min(a.minTicks, b.minTicks),
        maxTicks: Math.max(a.maxTicks, b.maxTicks),
        outOfOrder: a.outOfOrder + b.outOfOrder,
        errorMessages: a.errorMessages + b.errorMessages,
        histogram: Array.from(
          { length: Math.max(a.histogram.length, b.histogram.length) },
          (_, i) => (a.histogram[i] ?? 0) + (b.histogram[i] ?? 0),
        ),
        firstAt: Math.min(a.firstAt || Infinity, b.firstAt || Infinity),
        lastAt: Math.max(a.lastAt, b.lastAt),
        cpuMs: a.cpuMs + b.cpuMs,
      }));
    return merged;
  }

  close(): void {
    for (const child of this.children) {
      if (child.connected) child.send({ type: 'close' } satisfies ClientCommand);
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }
  }

  private ask(child: ChildProcess, cmd: ClientCommand, answer: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`ws client process exited (${code})`));
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type !== answer && m.type !== 'failed') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (m.type === answer) resolve(m);
        else reject(new Error(`ws clients: ${m.message}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(cmd);
    });
  }
}

/** The p-quantile (0..1) of a histogram in whole milliseconds. */
export function histogramPercentile(histogram: number[], p: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms]!;
    if (seen >= p * total) return ms;
  }
  return Number.NaN;
}
