import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isPlaceholderSecret, isSecretName } from '../../../lib/src/index.js';

export const repoRoot = new URL('../../../', import.meta.url).pathname;
export const composePath = `${repoRoot}compose.yaml`;
export const envExamplePath = `${repoRoot}.env.example`;

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  environment?: Record<string, string | number | null>;
  command?: string[] | string;
  ports?: (string | { published?: string | number; target: number })[];
  healthcheck?: { test: string[] | string };
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
  deploy?: { replicas?: number };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** KEY=value lines of an env file (comments and blanks skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.trim();
  }
  return env;
}

/** Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution, for reading the file without docker-compose. */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^}]*))?\}/g,
    (_all, name: string, op?: string, arg?: string) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (op === '?') throw new Error(`${name}: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    },
  );
}

/** compose.yaml with the variables of `env` substituted and YAML anchors/merge keys resolved. */
export function loadComposeFile(env: Record<string, string> = readEnvFile(envExamplePath)): ComposeFile {
  return parse(interpolate(readFileSync(composePath, 'utf8'), env), { merge: true }) as ComposeFile;
}

/**
 * `env` as a user who changed every secret of .env.example would have it: each placeholder replaced by a random value.
 */
export function withRealSecrets(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      isSecretName(name) && isPlaceholderSecret(value) ? randomBytes(18).toString('base64url') : value,
    ]),
  );
}
