import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the test suites look for the Redis server binary (`REDIS_SERVER` overrides). */
export const redisServerPath = process.env.REDIS_SERVER ?? 'redis-server';

/**
 * Whether a Redis suite can run. Without `redis-server` it is skipped with a warning, except
 * under `DUPLEX_REQUIRE_ALL_SUITES=1` (CI), where a missing binary fails the run.
 * @example
 * ```ts
 * describe.runIf(redisAvailable('redis broker'))('redis broker', () => { ... });
 * ```
 */
export function redisAvailable(suite: string): boolean {
  const probe = spawnSync(redisServerPath, ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const reason = `${suite} needs ${redisServerPath}, which is missing`;
  if (process.env.DUPLEX_REQUIRE_ALL_SUITES === '1') {
    throw new Error(`${reason} (DUPLEX_REQUIRE_ALL_SUITES=1 makes every suite mandatory)`);
  }
  console.warn(`SKIPPED: ${reason}; install redis-server to run it.`);
  return false;
}

/** Servers still running, killed if this process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(proc: ChildProcess) {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Options of {@link startTestRedis}. */
export interface TestRedisOptions {
  /**
   * Persist with an append-only file fsynced on every write, so a restart (even after
   * SIGKILL) keeps everything acknowledged.
   * @default true
   */
  appendOnly?: boolean;
  /**
   * When the append-only file is fsynced: `always` loses nothing acknowledged even to a power
   * cut; `everysec` (the production default) may lose the last second.
   * @default 'always'
   */
  appendFsync?: 'always' | 'everysec';
  /**
   * Where Redis keeps its files.
   * @default a fresh temporary directory, removed on dispose
   */
  dataDir?: string;
  /**
   * The port to listen on.
   * @default a free port
   */
  port?: number;
}

/** A `redis-server` of a test's own, on a free loopback port, able to stop and come back. */
export interface TestRedis extends AsyncDisposable {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server: `SIGKILL` (a crash) by default. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same data directory. */
  start(): Promise<void>;
}

/**
 * Spawns `redis-server` bound to 127.0.0.1 (a free port and a fresh temporary directory unless
 * given) and resolves once it accepts connections. Never touches a shared Redis. The process is
 * a child of this one: it stops with `stop()`, on dispose, or when this process exits.
 */
export async function startTestRedis(opts: TestRedisOptions = {}): Promise<TestRedis> {
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'duplex-redis-'));
  mkdirSync(dir, { recursive: true });
  const appendOnly = opts.appendOnly ?? true;
  let child: ChildProcess | null = null;
  let port = opts.port ?? 0;

  const launch = async () => {
    const args = [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      appendOnly ? 'yes' : 'no',
      '--appendfsync',
      opts.appendFsync ?? 'always',
      '--protected-mode',
      'yes',
    ];
    const proc = spawn(redisServerPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    killOnExit(proc);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.once('error', reject);
      proc.once('exit', (code) =>
        reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)),
      );
    });
    proc.stdout?.resume();
    proc.stderr?.resume();
  };

  for (let attempt = 0; ; attempt++) {
    if (opts.port === undefined) port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      // Another process took the port between probing and binding: pick another.
      if (attempt >= 4 || opts.port !== undefined) throw error;
    }
  }

  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: launch,
    async [Symbol.asyncDispose]() {
      await stop();
      if (opts.dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
