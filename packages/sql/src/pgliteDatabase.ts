import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { lockDataDir } from './dataDirLock';
import { loadDriver } from './loadDriver';
import type { SqlDatabase } from './sqlDatabase';

/** PostgreSQL settings, `name: value` as in `postgresql.conf`. */
export type PgliteSettings = Readonly<Record<string, string | number>>;

/** Options of {@link createPgliteDatabase}; each tunable one defaults to {@link pgliteDefaults}. */
export interface PgliteDatabaseOptions {
  /**
   * The directory the database lives in; created if missing. Without one the database is in
   * memory and gone when the process ends.
   */
  dataDir?: string;
  /**
   * PostgreSQL settings the database starts with (`-c name=value`), over
   * {@link pgliteDefaults}`.settings`. A new database also records them in its
   * `postgresql.conf`. To go back to PostgreSQL's default, give it (`shared_buffers: '128MB'`).
   * @example `{ shared_buffers: '64MB' }` for a database that reads more than it can cache
   * @default pgliteDefaults.settings
   */
  settings?: PgliteSettings;
  /**
   * The WAL segment size in MiB of a new database (initdb's `--wal-segsize`); an existing one
   * keeps its own.
   * @default 1
   */
  walSegmentMiB?: number;
  /**
   * Runs `CHECKPOINT` once this many MiB of WAL have been written since the last one; `0` never
   * does. PGlite runs PostgreSQL in single-user mode, which has no checkpointer: without this the
   * WAL since the process started is kept, and a restart after a crash replays all of it.
   * @default 16
   */
  checkpointWalMiB?: number;
  /**
   * How often at most, in ms, the WAL written since the last checkpoint is looked at: after a
   * statement, once this long has passed since the last look (an idle database is not woken).
   * @default 5_000
   */
  checkpointCheckMs?: number;
  /**
   * Creates a new database (initdb, which holds about 600 MB while it runs) in a child process,
   * so this process never holds that memory. Without a child process (or when the driver cannot
   * be found on disk, e.g. in a bundle), it runs here.
   * @default true
   */
  initInChildProcess?: boolean;
}

/**
 * The defaults of {@link createPgliteDatabase}: a light embedded database for a small app
 * (see docs/performance.md#embedded-footprint for what each costs and saves).
 *
 * - `shared_buffers: '16MB'` (PostgreSQL's default is 128MB): PGlite zeroes and keeps all of it,
 *   so it is resident from the start (the default costs ~150 MB more and a second or more per
 *   start). Pages not cached there are read from the OS page cache.
 * - `maintenance_work_mem: '16MB'` (default 64MB): what an index build may take; PGlite's
 *   WebAssembly memory grows to its peak and never shrinks.
 * - `min_wal_size: '32MB'`, `max_wal_size: '64MB'` (defaults 80MB and 1GB): the WAL kept for
 *   reuse after a checkpoint. 32MB is the least that works for databases made with PGlite's
 *   16 MiB segments as well.
 * - A new database gets 1 MiB WAL segments (default 16 MiB) and a `CHECKPOINT` every 16 MiB of
 *   WAL: a restart after a crash replays at most that much.
 *
 * `work_mem` (4MB), `temp_buffers` (8MB) and `wal_buffers` (1/32 of `shared_buffers`) keep
 * PostgreSQL's defaults. Durability is PGlite's: each commit's WAL is written to the OS before
 * the commit returns, so committed data survives the process being killed; PGlite does not
 * fsync (`-F`), so it does not survive the machine losing power.
 */
export const pgliteDefaults = Object.freeze({
  settings: Object.freeze({
    shared_buffers: '16MB',
    maintenance_work_mem: '16MB',
    min_wal_size: '32MB',
    max_wal_size: '64MB',
  }) as PgliteSettings,
  walSegmentMiB: 1,
  checkpointWalMiB: 16,
  checkpointCheckMs: 5_000,
  initInChildProcess: true,
});

/** What PGlite is started with. */
interface PgliteStart {
  startParams: string[];
  initDbStartParams: string[];
}

function startOf(defaultStartParams: readonly string[], opts: PgliteDatabaseOptions): PgliteStart {
  const settings = { ...pgliteDefaults.settings, ...opts.settings };
  const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  return {
    startParams: [...defaultStartParams, ...flags],
    initDbStartParams: [
      `--wal-segsize=${opts.walSegmentMiB ?? pgliteDefaults.walSegmentMiB}`,
      ...flags,
    ],
  };
}

/**
 * Embedded PostgreSQL (PGlite, compiled to WebAssembly): no server to install, data in a
 * directory. One process at a time may open a directory: it is locked with `<dataDir>.lock`
 * while open, and a second open (another process, or this one) rejects with
 * {@link DataDirInUseError}; a lock left by a process that died is taken over. Tuned to be light by default
 * ({@link pgliteDefaults}). Needs the optional peer `@electric-sql/pglite` (`npm install
 * @electric-sql/pglite`), loaded on the first call; without it this rejects with a
 * {@link DriverMissingError}.
 * @example
 * ```ts
 * const db = await createPgliteDatabase({ dataDir: '.data/chat' });
 * ```
 */
export async function createPgliteDatabase(opts: PgliteDatabaseOptions = {}): Promise<SqlDatabase> {
  const { PGlite } = await loadDriver(
    '@electric-sql/pglite',
    'createPgliteDatabase',
    () => import('@electric-sql/pglite'),
  );
  const start = startOf(PGlite.defaultStartParams, opts);
  let unlock = () => {};
  if (opts.dataDir) {
    await mkdir(dirname(resolve(opts.dataDir)), { recursive: true });
    unlock = lockDataDir(opts.dataDir);
  }
  const opening = (async () => {
    if (opts.dataDir) await initPgliteDataDir(opts.dataDir, opts);
    return PGlite.create(opts.dataDir, start);
  })();
  const pglite = await opening.catch((error: unknown) => {
    unlock();
    throw error;
  });

  const checkpointBytes = (opts.checkpointWalMiB ?? pgliteDefaults.checkpointWalMiB) * 1024 * 1024;
  const checkEveryMs = opts.checkpointCheckMs ?? pgliteDefaults.checkpointCheckMs;
  let lastCheckpoint = await walInsertPosition();
  let lastCheck = Date.now();
  let checkpointing: Promise<void> | null = null;
  /** After a statement: looks at the WAL, at most every `checkEveryMs` (an idle database never). */
  const afterStatement = () => {
    if (checkpointBytes <= 0 || checkpointing || Date.now() - lastCheck < checkEveryMs) return;
    lastCheck = Date.now();
    checkpointing = checkpointIfDue()
      .catch((error: unknown) => console.warn('[duplex] PGlite checkpoint failed:', error))
      .finally(() => {
        checkpointing = null;
      });
  };

  async function walInsertPosition(): Promise<string> {
    const result = await pglite.query<{ lsn: string }>(
      'SELECT pg_current_wal_insert_lsn()::text AS lsn',
    );
    return result.rows[0]!.lsn;
  }
  async function checkpointIfDue(): Promise<void> {
    const result = await pglite.query<{ bytes: number }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8 AS bytes',
      [lastCheckpoint],
    );
    if ((result.rows[0]?.bytes ?? 0) < checkpointBytes || pglite.closed) return;
    const at = await walInsertPosition();
    await pglite.exec('CHECKPOINT');
    lastCheckpoint = at;
  }

  return {
    kind: 'pglite',
    async query<TRow>(text: string, params: readonly unknown[] = []) {
      try {
        return (await pglite.query<TRow>(text, params as unknown[])).rows;
      } finally {
        afterStatement();
      }
    },
    async transaction(fn) {
      try {
        return await pglite.transaction((tx) =>
          fn({
            async query<TRow>(text: string, params: readonly unknown[] = []) {
              return (await tx.query<TRow>(text, params as unknown[])).rows;
            },
          }),
        );
      } finally {
        afterStatement();
      }
    },
    async close() {
      lastCheck = Number.POSITIVE_INFINITY;
      await checkpointing;
      try {
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}

/**
 * Creates the database in `dataDir` if it has none yet (PGlite's initdb), with the settings
 * {@link createPgliteDatabase} would use; does nothing if there is one. `createPgliteDatabase`
 * calls it: call it earlier to overlap a first start's initdb (seconds) with other startup work.
 *
 * The new database is made in a sibling directory, in a child process unless
 * `initInChildProcess` is false, and moved in when complete (its `PG_VERSION` last), so an
 * interrupted first start leaves no half-made database behind.
 * @example
 * ```ts
 * const initializing = initPgliteDataDir('.data/chat');
 * const { createApp } = await import('./app'); // loads while initdb runs
 * await initializing;
 * ```
 */
export async function initPgliteDataDir(
  dataDir: string,
  opts: Omit<PgliteDatabaseOptions, 'dataDir'> = {},
): Promise<void> {
  // PGlite creates only the last path segment; a fresh checkout has no `.data/` yet.
  await mkdir(dataDir, { recursive: true });
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const { PGlite } = await loadDriver(
    '@electric-sql/pglite',
    'createPgliteDatabase',
    () => import('@electric-sql/pglite'),
  );
  const start = startOf(PGlite.defaultStartParams, opts);
  const driverFile = opts.initInChildProcess === false ? null : pgliteDriverFile();
  const target = resolve(dataDir);
  const prefix = `.${basename(target)}.initdb-`;
  // A scratch directory left by a first start killed during initdb.
  for (const name of await readdir(dirname(target))) {
    if (name.startsWith(prefix))
      await rm(join(dirname(target), name), { recursive: true, force: true });
  }
  const scratch = await mkdtemp(join(dirname(target), prefix));
  try {
    if (driverFile) {
      await initInChild(driverFile, scratch, start, dataDir);
    } else {
      await (await PGlite.create(scratch, start)).close();
    }
    const entries = (await readdir(scratch)).filter((name) => name !== 'PG_VERSION');
    for (const name of [...entries, 'PG_VERSION']) {
      // Whatever an interrupted first start left is replaced, as PGlite's initdb would.
      await rm(join(target, name), { recursive: true, force: true });
      await rename(join(scratch, name), join(target, name));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** PGlite's CommonJS entry on disk, for a child process to load; null when not on disk. */
function pgliteDriverFile(): string | null {
  // Only Node (not Electron, Deno or a bundle without node_modules) runs `-e` scripts as we do.
  if (process.release?.name !== 'node' || process.versions.electron) return null;
  try {
    return createRequire(import.meta.url).resolve('@electric-sql/pglite');
  } catch {
    return null;
  }
}

// initdb runs each part of PostgreSQL about once: V8's optimizing tier costs it more than it
// saves (on 2 cores, ~4 s instead of ~6 s, a third less CPU).
const childScript = `
require('node:v8').setFlagsFromString('--liftoff-only');
const [driver, dir, start] = process.argv.slice(1);
require(driver).PGlite.create(dir, JSON.parse(start))
  .then((pg) => pg.close())
  .then(() => process.exit(0), (error) => {
    process.stderr.write(String((error && error.stack) || error));
    process.exit(1);
  });
`;

async function initInChild(
  driverFile: string,
  dir: string,
  start: PgliteStart,
  dataDir: string,
): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', childScript, driverFile, dir, JSON.stringify(start)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0) {
    throw new Error(`PGlite could not create a database in ${dataDir} (exit ${code}): ${stderr}`);
  }
}
