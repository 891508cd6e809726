import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  root: 'src/web',
  plugins: [react()],
  // Workspace packages are used from source, as in tests.
  resolve: { conditions: ['@duplex/source', ...defaultClientConditions] },
  // No source maps: the server would serve them to anyone (1.5 MB, the whole source). To debug
  // a production build, build one with maps: `npx vite build --sourcemap`.
  build: { outDir: '../../dist', emptyOutDir: true, sourcemap: false },
});
