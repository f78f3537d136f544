import { defineConfig } from 'vite';

// Built by `pnpm build` (gateway's build:assets) into dashboard/dist, served by src/dashboard/dashboard-plugin.ts.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', assetsDir: 'assets', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 400 },
});
