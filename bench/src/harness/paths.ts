import { fileURLToPath } from 'node:url';

/** The repository root (bench/dist/harness -> ../../..). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The built entry point of a workspace package's server, e.g. serverScript('gateway'). */
export function serverScript(pkg: 'registry' | 'gateway' | 'provider' | 'ingestion'): string {
  return `${repoRoot}${pkg}/dist/server.js`;
}

/** A bench-owned script built next to this file (bench/dist/<relative>). */
export function benchScript(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

export const resultsDir = `${repoRoot}bench/results`;
