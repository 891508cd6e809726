// Bundles reactApp.tsx for browsers as an app's build would, into web/ with its page.
import { mkdir, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

await mkdir('web', { recursive: true });
await build({
  entryPoints: ['reactApp.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  outfile: 'web/app.js',
  logLevel: 'warning',
});
await writeFile(
  'web/index.html',
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="/app.js"></script>\n',
);
