/**
 * Browser bundle size of a client doing one query and one subscription: Duplex's client beside
 * stock tRPC (`createWSClient` + `wsLink` + superjson), bundled in the same run by esbuild for the
 * browser, minified, gzip level 9. Also a code-splitting build (what Vite and webpack do), where
 * code behind `import()` loads only when used: its first load is reported apart.
 * Run: npm run bench:bundle (`-- --files` lists the biggest inputs of the Duplex bundle)
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const entry = (name: string) => fileURLToPath(new URL(`./bundle/${name}`, import.meta.url));
const listFiles = process.argv.includes('--files');

interface Measured {
  minBytes: number;
  gzipBytes: number;
  /** With code splitting: the entry chunk and what it imports statically. */
  firstLoadGzipBytes: number;
  metafile: Metafile;
}

async function measure(file: string): Promise<Measured> {
  const common = {
    entryPoints: [entry(file)],
    bundle: true,
    minify: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: 'es2022',
    conditions: ['@duplex/source', 'browser'],
    write: false,
    metafile: true,
    logLevel: 'silent' as const,
  };
  const whole = await build(common);
  const code = whole.outputFiles![0]!.contents;
  const split = await build({ ...common, splitting: true, outdir: '/virtual' });
  // Metafile keys are relative to the working directory, output files absolute: match by name.
  const byName = new Map(split.outputFiles!.map((f) => [basename(f.path), f.contents]));
  const outputs = split.metafile!.outputs;
  const entryOut = Object.keys(outputs).find((o) => outputs[o]!.entryPoint)!;
  const firstLoad = new Set<string>();
  const visit = (out: string) => {
    if (firstLoad.has(out)) return;
    firstLoad.add(out);
    for (const imp of outputs[out]!.imports) if (imp.kind === 'import-statement') visit(imp.path);
  };
  visit(entryOut);
  let firstLoadGzipBytes = 0;
  for (const out of firstLoad) {
    firstLoadGzipBytes += gzipSync(byName.get(basename(out))!, { level: 9 }).length;
  }
  return {
    minBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    firstLoadGzipBytes,
    metafile: whole.metafile!,
  };
}

const duplex = await measure('duplexEntry.ts');
const trpc = await measure('trpcEntry.ts');
const kb = (bytes: number) => `${(bytes / 1000).toFixed(2)} KB`;
console.table({
  'Duplex (createDuplexClient)': {
    min: kb(duplex.minBytes),
    'min+gzip': kb(duplex.gzipBytes),
    'first load, split (gzip)': kb(duplex.firstLoadGzipBytes),
  },
  'tRPC (wsLink + superjson)': {
    min: kb(trpc.minBytes),
    'min+gzip': kb(trpc.gzipBytes),
    'first load, split (gzip)': kb(trpc.firstLoadGzipBytes),
  },
});
console.log(
  `Duplex / tRPC, min+gzip: ${(duplex.gzipBytes / trpc.gzipBytes).toFixed(2)}×; first load: ${(duplex.firstLoadGzipBytes / trpc.firstLoadGzipBytes).toFixed(2)}×`,
);

const byPackage = new Map<string, number>();
for (const [input, { bytesInOutput }] of Object.entries(
  Object.values(duplex.metafile.outputs)[0]!.inputs,
)) {
  const pkg =
    input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.replace(/\/src\/.*$/, '');
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
}
console.log('Duplex bundle by package (minified bytes, before gzip):');
for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]))
  console.log(`  ${pkg.padEnd(40)} ${bytes}`);
if (listFiles) {
  const inputs = Object.entries(Object.values(duplex.metafile.outputs)[0]!.inputs).sort(
    (a, b) => b[1].bytesInOutput - a[1].bytesInOutput,
  );
  for (const [input, { bytesInOutput }] of inputs.slice(0, 40))
    console.log(`  ${String(bytesInOutput).padStart(7)} ${input}`);
}
