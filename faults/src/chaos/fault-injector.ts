import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TcpProxy } from '@lizards/testkit';
import type { ServiceProcess } from '../service-process.js';
import type { Stack } from '../stack.js';
import { describeFault, type Fault, type KillTarget, type ProxyName } from './schedule.js';

const exec = promisify(execFile);

export interface TimelineEntry {
  fault: Fault;
  /** ms after the load started. */
  startedAt: number;
  endedAt: number | undefined;
  note: string | undefined;
}

/** Applies faults to a stack: kills and restarts its processes, slows, stalls and resets its proxies. */
export class FaultInjector {
  readonly timeline: TimelineEntry[] = [];
  /** Kill targets down now (killed, or restarted and not healthy yet). */
  readonly down = new Set<KillTarget>();
  private readonly latencies = new Map<ProxyName, number[]>();

  constructor(
    private readonly stack: Stack,
    private readonly t0: number,
  ) {}

  private proxy(name: ProxyName): TcpProxy {
    return name === 'postgres'
      ? this.stack.pgProxy
      : name === 'rabbitmq'
        ? this.stack.amqpProxy
        : this.stack.redisProxy;
  }

  /** The process a kill target names now (it changes with every restart). */
  process(target: KillTarget): ServiceProcess {
    const [kind, n] = target.split('-') as [string, string | undefined];
    if (kind === 'registry') return this.stack.registry;
    if (kind === 'ingestion') return this.stack.ingestion;
    return (kind === 'gateway' ? this.stack.gateways : this.stack.providers)[Number(n) - 1]!;
  }

  /** Applies `fault` for its whole duration; resolves when it is over (the process healthy again, the proxy clear). */
  async apply(fault: Fault): Promise<void> {
    const entry: TimelineEntry = { fault, startedAt: Date.now() - this.t0, endedAt: undefined, note: undefined };
    this.timeline.push(entry);
    try {
      entry.note = await this.run(fault);
    } catch (err) {
      entry.note = `failed: ${(err as Error).message}`;
    } finally {
      entry.endedAt = Date.now() - this.t0;
    }
  }

  private async run(fault: Fault): Promise<string | undefined> {
    const hold = () => new Promise((r) => setTimeout(r, fault.durationMs));
    switch (fault.kind) {
      case 'kill': {
        if (this.down.has(fault.target)) return 'skipped: still restarting from an earlier kill';
        this.down.add(fault.target);
        try {
          await this.process(fault.target).kill('SIGKILL');
          await hold();
          const fresh = await this.stack.respawn(this.process(fault.target));
          await fresh.until('/health', 60_000);
        } finally {
          this.down.delete(fault.target);
        }
        return undefined;
      }
      case 'latency': {
        const list = this.latencies.get(fault.proxy) ?? [];
        this.latencies.set(fault.proxy, list);
        list.push(fault.ms);
        this.proxy(fault.proxy).setLatency(Math.max(...list));
        await hold();
        list.splice(list.indexOf(fault.ms), 1);
        this.proxy(fault.proxy).setLatency(list.length > 0 ? Math.max(...list) : 0);
        return undefined;
      }
      case 'stall':
        this.proxy(fault.proxy).stall();
        await hold();
        this.proxy(fault.proxy).flow();
        return undefined;
      case 'reset':
        this.proxy(fault.proxy).reset();
        return undefined;
      case 'broker-close':
        return this.closeOneBrokerConnection(fault.at);
    }
  }

  /**
   * Has the broker close one of this run's connections: only those whose peer port is one of the run's proxy's
   * connections to RabbitMQ (the server is shared; nobody else's is touched).
   */
  private async closeOneBrokerConnection(pickBy: number): Promise<string> {
    const ours = new Set(this.stack.amqpProxy.upstreamPorts());
    const { stdout } = await exec(
      'rabbitmqctl',
      ['list_connections', 'pid', 'peer_port', '--quiet', '--no-table-headers'],
      { timeout: 20_000 },
    );
    const rows = stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([pid, port]) => pid && ours.has(Number(port)))
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    if (rows.length === 0) return 'no connection of the run open';
    const [pid, port] = rows[pickBy % rows.length]!;
    await exec('rabbitmqctl', ['close_connection', pid!, `chaos soak ${this.stack.run}`], { timeout: 20_000 });
    return `closed the connection from proxy port ${port}`;
  }

  /** The timeline as text, one fault a line. */
  format(): string {
    return this.timeline
      .map((e) => {
        const end = e.endedAt === undefined ? '…' : `${(e.endedAt / 1000).toFixed(1)}s`;
        const span = `${(e.startedAt / 1000).toFixed(1)}s–${end}`;
        return `  ${span.padEnd(16)} ${describeFault(e.fault)}${e.note ? ` (${e.note})` : ''}`;
      })
      .join('\n');
  }
}
