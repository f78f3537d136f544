import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@lizards/contract': src('contract'),
      '@lizards/lib': src('lib'),
      '@lizards/proto': src('proto'),
      '@lizards/client': src('client'),
      '@lizards/testkit': src('testkit'),
    },
  },
  test: {
    include: ['*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest-report.json' },
  },
});
