import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError } from './dataDirLock';
import {
  createPgliteDatabase,
  initPgliteDataDir,
  type PgliteDatabaseOptions,
  pgliteDefaults,
} from './pgliteDatabase';

/** Runs Node with `args` to its end. */
function runNode(args: string[]): Promise<{ code: number | null; stderr: string; pid: number }> {
  const child = spawn(process.execPath, args, {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr, pid: child.pid! }));
  });
}

const roots: string[] = [];
async function tempDir() {
  const root = await mkdtemp(join(tmpdir(), 'duplex-pglite-tuned-'));
  roots.push(root);
  return root;
}
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

const settingsQuery = `SELECT current_setting('shared_buffers') AS shared_buffers,
  current_setting('maintenance_work_mem') AS maintenance_work_mem,
  current_setting('max_wal_size') AS max_wal_size,
  current_setting('wal_segment_size') AS wal_segment_size,
  current_setting('synchronous_commit') AS synchronous_commit`;

// Each test makes a database on disk (initdb: seconds of CPU, more on a busy machine).
describe('PGlite on disk, with the light defaults', () => {
  it('makes a new database in a child process, with pgliteDefaults, kept across a reopen', async () => {
    const root = await tempDir();
    // Nested and missing, as `.data/chat` is in a fresh checkout.
    const dataDir = join(root, 'nested', 'db');
    const first = await createPgliteDatabase({ dataDir });
    expect(await first.query(settingsQuery)).toEqual([
      {
        shared_buffers: pgliteDefaults.settings.shared_buffers,
        maintenance_work_mem: pgliteDefaults.settings.maintenance_work_mem,
        max_wal_size: pgliteDefaults.settings.max_wal_size,
        wal_segment_size: `${pgliteDefaults.walSegmentMiB}MB`,
        // Each commit waits for its WAL to be written: what survives a kill.
        synchronous_commit: 'on',
      },
    ]);
    await first.query('CREATE TABLE kept (v text)');
    await first.transaction((tx) => tx.query("INSERT INTO kept VALUES ('survives')"));
    await first.close();
    // The scratch directory initdb ran in is gone.
    expect(await readdir(join(root, 'nested'))).toEqual(['db']);
    // An app's setting wins over the default.
    const second = await createPgliteDatabase({ dataDir, settings: { shared_buffers: '32MB' } });
    expect(await second.query('SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
    const [row] = await second.query<{ shared_buffers: string }>(settingsQuery);
    expect(row?.shared_buffers).toBe('32MB');
    await second.close();
  }, 120_000);

  it('replaces what an interrupted first start left, in this process too', async () => {
    const dataDir = join(await tempDir(), 'db');
    // A first start killed during initdb (its scratch directory), and one killed while moving
    // the new database in: files, but no PG_VERSION.
    await mkdir(join(dataDir, '..', '.db.initdb-x1y2z3', 'base'), { recursive: true });
    await mkdir(join(dataDir, 'base'), { recursive: true });
    await writeFile(join(dataDir, 'base', 'junk'), 'half-made');
    await writeFile(join(dataDir, 'postgresql.conf'), 'garbage = ');
    await initPgliteDataDir(dataDir, { initInChildProcess: false });
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'base', 'junk'))).toBe(false);
    expect(await readdir(join(dataDir, '..'))).toEqual(['db']);
    // A second call finds the database and leaves it alone.
    await initPgliteDataDir(dataDir);
    const db = await createPgliteDatabase({ dataDir });
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.close();
  }, 120_000);

  it('locks its directory: another open is refused while it is open, a dead holder’s lock is taken over', async () => {
    const dataDir = join(await tempDir(), 'db');
    const lockFile = `${dataDir}.lock`;
    const first = await createPgliteDatabase({ dataDir });
    await expect(createPgliteDatabase({ dataDir })).rejects.toThrow(DataDirInUseError);
    // Another process is refused, and told which process has it.
    const script = `import { createPgliteDatabase } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};
      createPgliteDatabase({ dataDir: process.argv[1] }).then(
        () => process.exit(0),
        (error) => { process.stderr.write(error.name + ': ' + error.message); process.exit(3); },
      );`;
    const other = await runNode(['--import', 'tsx', '--input-type=module', '-e', script, dataDir]);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain(
      `DataDirInUseError: ${dataDir} is already open in process ${process.pid}`,
    );
    expect(await first.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await first.close();
    expect(existsSync(lockFile)).toBe(false);

    // A lock whose process is gone (killed before it could close) is taken over.
    const gone = await runNode(['-e', '']);
    await writeFile(lockFile, JSON.stringify({ pid: gone.pid, host: hostname() }));
    const second = await createPgliteDatabase({ dataDir });
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await second.close();
  }, 120_000);

  it('keeps every committed row when its process is SIGKILLed, checkpointing as it writes', async () => {
    const dataDir = join(await tempDir(), 'db');
    // A checkpoint every MiB of WAL (8 KiB rows), looked for every 20 ms.
    const opts: PgliteDatabaseOptions = { checkpointWalMiB: 1, checkpointCheckMs: 20 };
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@duplex/source',
        fileURLToPath(new URL('./fixtures/pgliteWriter.ts', import.meta.url)),
      ],
      {
        env: { ...process.env, DATA_DIR: dataDir, PGLITE_OPTIONS: JSON.stringify(opts) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let committed = 0;
    const redos = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const report = JSON.parse(line) as { committed: number; redo: string };
          committed = report.committed;
          redos.add(report.redo);
          // Killed mid-write, after ~3 MiB of WAL.
          if (committed === 400) {
            child.kill('SIGKILL');
            resolve();
          }
        }
      });
      // After the kill this is a no-op; before it, the writer failed.
      void exited.then(() => reject(new Error(`writer exited after ${committed} rows`)));
    });
    await exited;
    // It checkpointed as it wrote (single-user PostgreSQL never does on its own).
    expect(redos.size).toBeGreaterThanOrEqual(3);

    const db = await createPgliteDatabase({ dataDir });
    const [row] = await db.query<{ count: number; max: number }>(
      'SELECT count(*)::int AS count, max(n) AS max FROM kept',
    );
    // Every row whose INSERT had returned is there, and nothing is missing before it: the row in
    // flight at the kill may or may not have committed.
    expect(row!.max).toBeGreaterThanOrEqual(committed);
    expect(row!.count).toBe(row!.max);
    await db.close();
  }, 120_000);
});
