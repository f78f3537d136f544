import { prng } from '../fuzz.js';

export const KILL_TARGETS = ['registry', 'gateway-1', 'gateway-2', 'ingestion', 'provider-1', 'provider-2'] as const;
export const PROXIES = ['postgres', 'rabbitmq', 'redis'] as const;
export type KillTarget = (typeof KILL_TARGETS)[number];
export type ProxyName = (typeof PROXIES)[number];

/** One planned fault: when it starts (ms after the load started) and how long it lasts (0: instantaneous). */
export type Fault =
  | { kind: 'kill'; target: KillTarget; at: number; durationMs: number }
  | { kind: 'latency'; proxy: ProxyName; ms: number; at: number; durationMs: number }
  | { kind: 'stall'; proxy: ProxyName; at: number; durationMs: number }
  | { kind: 'reset'; proxy: ProxyName; at: number; durationMs: 0 }
  | { kind: 'broker-close'; at: number; durationMs: 0 };

export interface ScheduleOptions {
  seed: number;
  /** Faults start in [startMs, endMs) and all have ended by endMs. */
  startMs: number;
  endMs: number;
  /** Mean time between fault starts. */
  meanGapMs: number;
}

/**
 * A seeded random fault schedule: starts spaced by exponential gaps, so faults overlap freely; one target is never
 * killed again while down, and one proxy never stalled twice at once. The same seed gives the same schedule.
 */
export function makeSchedule(opts: ScheduleOptions): Fault[] {
  const rand = prng(opts.seed);
  const between = (lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const busyUntil = new Map<string, number>();
  const faults: Fault[] = [];
  for (
    let at = opts.startMs + between(0, opts.meanGapMs);
    at < opts.endMs;
    at += Math.round(-Math.log(1 - rand()) * opts.meanGapMs)
  ) {
    const room = opts.endMs - at;
    const roll = rand();
    let fault: Fault;
    if (roll < 0.35)
      fault = { kind: 'kill', target: pick(KILL_TARGETS), at, durationMs: Math.min(room, between(300, 6000)) };
    else if (roll < 0.6)
      fault = {
        kind: 'latency',
        proxy: pick(PROXIES),
        ms: between(20, 400),
        at,
        durationMs: Math.min(room, between(1000, 10_000)),
      };
    else if (roll < 0.8)
      fault = { kind: 'stall', proxy: pick(PROXIES), at, durationMs: Math.min(room, between(500, 5000)) };
    else if (roll < 0.93) fault = { kind: 'reset', proxy: pick(PROXIES), at, durationMs: 0 };
    else fault = { kind: 'broker-close', at, durationMs: 0 };
    const resource = fault.kind === 'kill' ? fault.target : fault.kind === 'stall' ? `stall:${fault.proxy}` : undefined;
    if (resource !== undefined) {
      if ((busyUntil.get(resource) ?? 0) > at) continue;
      busyUntil.set(resource, at + fault.durationMs);
    }
    faults.push(fault);
  }
  return faults;
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'kill':
      return `kill -9 ${f.target}, restart after ${f.durationMs} ms`;
    case 'latency':
      return `+${f.ms} ms latency on ${f.proxy} for ${f.durationMs} ms`;
    case 'stall':
      return `stall ${f.proxy} for ${f.durationMs} ms`;
    case 'reset':
      return `reset every ${f.proxy} connection`;
    case 'broker-close':
      return "broker closes one of the run's connections";
  }
}
