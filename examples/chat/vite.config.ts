import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  root: 'src/web',
  plugins: [react()],
  // Workspace packages are used from source, as in tests.
  resolve: { conditions: ['@duplex/source', ...defaultClientConditions] },
  build: { outDir: '../../dist', emptyOutDir: true, sourcemap: true },
});
