// Bundles browserEntry.ts as a browser app would and reports what went in: any Node built-in
// import is recorded (and left out) so the caller can fail on it.
import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const nodeImports = [];
const result = await build({
  entryPoints: ['browserEntry.ts'],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'silent',
  plugins: [
    {
      name: 'record-node-builtins',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (!builtins.has(args.path)) return undefined;
          nodeImports.push(`${args.path} (from ${args.importer})`);
          return { path: args.path, external: true };
        });
      },
    },
  ],
});
const code = result.outputFiles[0].contents;
console.log(
  JSON.stringify({
    nodeImports,
    inputs: Object.keys(result.metafile.inputs),
    minBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
  }),
);
