import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * Builds the dashboard page (`src/page/`) into `dist/page/`. `base: './'` makes every asset URL
 * relative, so an app can serve the directory under any path (`/admin/`, `/ops/dashboard/`).
 */
export default defineConfig({
  // Absolute, so the build works from any directory (npm -w, the repository root, tests).
  root: fileURLToPath(new URL('./src/page', import.meta.url)),
  base: './',
  plugins: [react()],
  // Workspace packages (`@duplex/client`) are bundled from source, as in tests.
  resolve: { conditions: ['@duplex/source', ...defaultClientConditions] },
  // No source maps: whoever can load the page would get the whole source with them.
  build: {
    outDir: fileURLToPath(new URL('./dist/page', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
  },
});
