/**
 * `npm start`: builds the web app and the server if their sources changed since their last build,
 * then runs the server (`src/server/main.ts`) here, with plain Node.
 *
 * - The web app: `vite build` into `dist/`, when a file under `src/web`, the workspace packages'
 *   `src`, `vite.config.ts` or a package manifest is newer than `dist/index.html`.
 * - The operator's dashboard (`@duplex/admin`'s page, served at `/admin/`): `vite build` into
 *   `packages/admin/dist/page/`, when a file under its `src/page`, the client's sources, its
 *   `vite.config.ts` or its manifest is newer than that `index.html`.
 * - The server: one esbuild bundle of `src/server/main.ts` and the workspace packages (from
 *   source, as under tsx) into `.tmp/server/`, when one of its inputs is newer than it.
 *   PGlite stays outside (it loads its WebAssembly from beside its own files), as do the drivers
 *   loaded on demand.
 *
 * The builds run in child processes, at the same time; on a first start the database is made
 * (PGlite's initdb, seconds) while the web app builds. Run under tsx instead, the server held
 * ~80 MiB more and took seconds longer to start (docs/performance.md#embedded-footprint).
 * `--build-only` stops after the builds; `--force` rebuilds them all.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const chat = fileURLToPath(new URL('..', import.meta.url));
const repo = join(chat, '../..');
// Two levels below this directory, as src/server/main.ts is: app.ts finds `../../dist` from both.
const serverBundle = join(chat, '.tmp/server/main.mjs');
// @duplex/sql, bundled beside it, to make the database before the server starts.
const sqlBundle = join(chat, '.tmp/server/sql.mjs');
const serverMeta = join(chat, '.tmp/server/meta.json');
const force = process.argv.includes('--force');
const buildOnly = process.argv.includes('--build-only');
// As src/server/main.ts reads it.
const dataDir = process.env.DUPLEX_DATA_DIR ?? '.data/chat';

/** Newest modification time (ms) of the files at or under `path`; 0 if none. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);

function webIsCurrent() {
  const built = mtime(join(chat, 'dist/index.html'));
  const packages = join(repo, 'packages');
  const inputs = [
    join(chat, 'src/web'),
    join(chat, 'vite.config.ts'),
    join(chat, 'package.json'),
    join(repo, 'package-lock.json'),
    ...readdirSync(packages).flatMap((name) => [
      join(packages, name, 'src'),
      join(packages, name, 'package.json'),
    ]),
  ];
  return built > 0 && inputs.every((input) => newest(input) < built);
}

const admin = join(repo, 'packages/admin');

function adminPageIsCurrent() {
  const built = mtime(join(admin, 'dist/page/index.html'));
  const inputs = [
    join(admin, 'src/page'),
    join(admin, 'src/adminTypes.ts'),
    // The page bundles the client from source.
    join(repo, 'packages/client/src'),
    join(repo, 'packages/protocol/src'),
    join(admin, 'vite.config.ts'),
    join(admin, 'package.json'),
    join(repo, 'package-lock.json'),
  ];
  return built > 0 && inputs.every((input) => newest(input) < built);
}

function serverIsCurrent() {
  const built = Math.min(mtime(serverBundle), mtime(sqlBundle));
  if (built === 0 || !existsSync(serverMeta) || mtime(fileURLToPath(import.meta.url)) > built) {
    return false;
  }
  const { inputs } = JSON.parse(readFileSync(serverMeta, 'utf8'));
  // esbuild names inputs relative to the directory it ran in.
  return Object.keys(inputs).every((input) => {
    const at = mtime(join(chat, input));
    return at > 0 && at < built;
  });
}

function bin(name) {
  const found = [join(chat, 'node_modules/.bin', name), join(repo, 'node_modules/.bin', name)].find(
    existsSync,
  );
  if (!found) throw new Error(`${name} is not installed: run npm install`);
  return found;
}

function run(command, args, cwd = chat) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${command} failed (${signal ?? code})`)),
    );
  });
}

const web = force || !webIsCurrent() ? run(bin('vite'), ['build', '--logLevel', 'warn']) : null;
const adminPage =
  force || !adminPageIsCurrent() ? run(bin('vite'), ['build', '--logLevel', 'warn'], admin) : null;
const server =
  force || !serverIsCurrent()
    ? run(bin('esbuild'), [
        'main=src/server/main.ts',
        'sql=../../packages/sql/src/index.ts',
        '--bundle',
        '--platform=node',
        '--format=esm',
        '--target=node20',
        '--conditions=@duplex/source',
        '--external:@electric-sql/pglite',
        '--external:pg',
        '--external:pg-native',
        '--external:ioredis',
        '--sourcemap',
        // Bundled CommonJS (ws) requires Node's built-ins.
        "--banner:js=import { createRequire as __duplexRequire } from 'node:module'; const require = __duplexRequire(import.meta.url);",
        `--outdir=${join(chat, '.tmp/server')}`,
        '--out-extension:.js=.mjs',
        `--metafile=${serverMeta}`,
        '--log-level=warning',
      ])
    : null;
if (!buildOnly) {
  // PGlite's WebAssembly runs on V8's baseline compiler only: the optimizing tier's code and
  // compile memory cost ~65 MiB of RSS, for ~20% faster SQL.
  setFlagsFromString('--liftoff-only');
}
const database = buildOnly
  ? null
  : (async () => {
      await server;
      // Stack traces name the TypeScript sources (~10 MiB).
      process.setSourceMapsEnabled(true);
      const { initPgliteDataDir } = await import(pathToFileURL(sqlBundle).href);
      await initPgliteDataDir(dataDir);
    })();
await Promise.all([web, adminPage, server, database]);

if (!buildOnly) await import(pathToFileURL(serverBundle).href);
