import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

/** A PGlite directory another process (or this one) already has open. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | null,
    readonly lockFile: string,
  ) {
    super(
      `${dataDir} is already open${pid === null ? '' : ` in process ${pid}`}: one process at a time may open a PGlite directory (two would corrupt it). If no process has it open, delete ${lockFile}.`,
    );
    this.name = 'DataDirInUseError';
  }
}

interface Owner {
  pid: number;
  host: string;
}

/** Lock files this process holds, by absolute path. */
const held = new Set<string>();

/** A lock file unreadable for this long (its writer died between creating and writing it) is stale. */
const unreadableStaleMs = 10_000;

function ownerOf(lockFile: string): Owner | 'unreadable' | 'gone' {
  let text: string;
  try {
    text = readFileSync(lockFile, 'utf8');
  } catch {
    return 'gone';
  }
  try {
    const owner = JSON.parse(text) as Partial<Owner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string') {
      return { pid: owner.pid, host: owner.host };
    }
  } catch {
    // Half written: judged by its age below.
  }
  return 'unreadable';
}

function isAlive(owner: Owner): boolean {
  // Another machine's process (a shared disk) cannot be checked from here: assume it is alive.
  if (owner.host !== hostname()) return true;
  // Not held by this process (checked before), so left by an earlier life of its pid (a
  // container's process is often pid 1 every time).
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dataDir>.lock` for this process, or throws {@link DataDirInUseError} when a live
 * process holds it. A lock left by a process that died (its pid is gone) is taken over.
 * @returns releases the lock
 */
export function lockDataDir(dataDir: string): () => void {
  const lockFile = `${resolve(dataDir)}.lock`;
  if (held.has(lockFile)) throw new DataDirInUseError(dataDir, process.pid, lockFile);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() } satisfies Owner));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = ownerOf(lockFile);
      if (owner === 'gone' && attempt === 0) continue;
      const stale =
        owner === 'unreadable'
          ? Date.now() - statSync(lockFile, { throwIfNoEntry: false })!.mtimeMs > unreadableStaleMs
          : owner !== 'gone' && !isAlive(owner);
      // A second race lost (another process took it over first) is an open directory too.
      if (!stale || attempt > 0) {
        throw new DataDirInUseError(
          dataDir,
          typeof owner === 'object' ? owner.pid : null,
          lockFile,
        );
      }
      rmSync(lockFile, { force: true });
    }
  }
  held.add(lockFile);
  return () => {
    if (!held.delete(lockFile)) return;
    const owner = ownerOf(lockFile);
    if (typeof owner === 'object' && owner.pid === process.pid) rmSync(lockFile, { force: true });
  };
}
