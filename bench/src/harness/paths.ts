import { fileURLToPath } from 'node:url';

/** The repository root (bench/dist/harness -> ../../..). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The built entry point of a workspace package's server, e.g. serverScript('gateway'). */
export function serverScript(pkg: 'registry' | 'gateway' | 'provider' | 'ingestion'): string {
  return `${repoRoot}${pkg}/dist/server.js`;
}

/** A bench-owned script, built (bench/dist/<relative>), also when the harness itself runs from src (vitest). */
export function benchScript(relative: string): string {
  return `${repoRoot}bench/dist/${relative}`;
}

export const resultsDir = `${repoRoot}bench/results`;
