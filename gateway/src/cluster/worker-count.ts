import { availableParallelism } from 'node:os';

/** GATEWAY_WORKERS as a number of processes: `auto` = one per core this process may use. */
export function workerCount(setting: string): number {
  return setting === 'auto' ? availableParallelism() : Number(setting);
}
