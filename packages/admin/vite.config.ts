import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * Builds the dashboard page (`src/page/`) into `dist/page/`. `base: './'` makes every asset URL
 * relative, so an app can serve the directory under any path (`/admin/`, `/ops/dashboard/`).
 */
export default defineConfig({
  root: 'src/page',
  base: './',
  plugins: [react()],
  // Workspace packages (`@duplex/client`) are bundled from source, as in tests.
  resolve: { conditions: ['@duplex/source', ...defaultClientConditions] },
  // No source maps: whoever can load the page would get the whole source with them.
  build: { outDir: '../../dist/page', emptyOutDir: true, sourcemap: false },
});
