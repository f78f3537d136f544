import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as lib from '@lizards/lib';
import * as catalogue from '../src/errors.js';

/** Classes that share a code on purpose: the same meaning, told in other words. */
const SAME_MEANING: Record<string, string[]> = { LZ_ERR_NO_ROUTE: ['AdminNoRouteError', 'NoRouteError'] };

type CatalogueError = Error & { code?: unknown; statusCode?: number };

/** An instance of the export, if it can be made: anything but an error class fails the tests below, not the load. */
function instantiate(Ctor: unknown): CatalogueError | undefined {
  try {
    return new (Ctor as new () => CatalogueError)();
  } catch {
    return undefined;
  }
}

const entries = Object.entries(catalogue as Record<string, unknown>).map(([name, Ctor]) => {
  const error = instantiate(Ctor);
  return { name, Ctor, error, code: String(error?.code), statusCode: error?.statusCode };
});

const repo = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

describe('the error catalogue (lib/src/errors.ts)', () => {
  it('when enumerated, then it holds only @fastify/error classes, all exported from @lizards/lib', () => {
    expect(entries.length).toBeGreaterThan(40);
    for (const { name, Ctor, error } of entries) {
      expect(error instanceof Error, name).toBe(true);
      expect(error instanceof (Ctor as new () => Error), name).toBe(true);
      expect(typeof error?.code, name).toBe('string');
      expect((lib as Record<string, unknown>)[name], name).toBe(Ctor);
    }
  });

  it('when a class is declared, then its code is LZ_ERR_ and upper-case words', () => {
    for (const { name, code } of entries) expect(code, name).toMatch(/^LZ_ERR_[A-Z0-9_]+$/);
  });

  it('when a class is declared, then its status is 4xx or 5xx', () => {
    for (const { name, statusCode } of entries) {
      expect(statusCode, name).toBeGreaterThanOrEqual(400);
      expect(statusCode, name).toBeLessThan(600);
    }
  });

  it('when two classes share a code, then they are a declared same-meaning pair', () => {
    const byCode = new Map<string, string[]>();
    for (const { name, code } of entries) byCode.set(code, [...(byCode.get(code) ?? []), name]);
    const shared = Object.fromEntries(
      [...byCode].filter(([, names]) => names.length > 1).map(([c, n]) => [c, n.sort()]),
    );
    expect(shared).toEqual(SAME_MEANING);
  });

  it('when a service declares an error, then it does so here: no other src/ file imports @fastify/error', () => {
    const declaring = readdirSync(repo)
      .filter((p) => p !== 'node_modules' && existsSync(join(repo, p, 'src')))
      .flatMap((p) => sourceFiles(join(repo, p, 'src')))
      .filter((file) => readFileSync(file, 'utf8').includes("from '@fastify/error'"))
      .map((file) => file.slice(repo.length));
    expect(declaring).toEqual(['lib/src/errors.ts']);
  });
});
