import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Options of {@link startClusterNode}. */
export interface ClusterNodeOptions {
  name: string;
  redisUrl: string;
  databaseUrl: string;
  pgSchema: string;
  /** `0` for a free port. */
  port?: number;
  host?: string;
  /**
   * How long to wait for the node to listen.
   * @default 20_000
   */
  startTimeoutMs?: number;
  /** Where the node's log lines go; by default this process's stderr. */
  onLog?: (line: string) => void;
  /**
   * The operator's token (`admin:<token>` signs in), the same on every node so that the
   * dashboard of any node can be used.
   * @default `DUPLEX_ADMIN_TOKEN` of this process, else a random one per node
   */
  adminToken?: string;
}

/** A running node process. */
export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** `ws://host:port/trpc` */
  readonly wsUrl: string;
  readonly process: ChildProcess;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** Sends `signal` (`SIGTERM`: graceful; `SIGKILL`: a crash) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const nodeScript = fileURLToPath(new URL('./node.ts', import.meta.url));
const bundleDir = fileURLToPath(new URL('../.tmp/', import.meta.url));
let bundled: Promise<string> | null = null;

/**
 * `node.ts` with the workspace packages bundled in (npm packages stay external), built once
 * per process: a node then starts in well under a second instead of several seconds of tsx
 * compiling every workspace source file, which is what keeps the multi-process tests quick.
 * Only for API nodes: the bundle's `import.meta.url` is its own, so it finds no web app to serve.
 */
export function bundleClusterNode(): Promise<string> {
  bundled ??= (async () => {
    mkdirSync(bundleDir, { recursive: true });
    // Bundles of processes that ended without their exit hook (a killed test worker).
    for (const file of readdirSync(bundleDir)) {
      const pid = Number(/^node-(\d+)\.mjs$/.exec(file)?.[1]);
      if (pid && pid !== process.pid && !isRunning(pid))
        rmSync(`${bundleDir}${file}`, { force: true });
    }
    const outfile = `${bundleDir}node-${process.pid}.mjs`;
    process.once('exit', () => rmSync(outfile, { force: true }));
    await build({
      entryPoints: [nodeScript],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@duplex/source'],
      logLevel: 'warning',
      plugins: [
        {
          name: 'npm-packages-external',
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, (args) =>
              args.path.startsWith('@duplex/') ? undefined : { path: args.path, external: true },
            );
          },
        },
      ],
    });
    return outfile;
  })();
  return bundled;
}

/**
 * Spawns one Duplex node (`node.ts`) as its own process and resolves once it listens: run from
 * source through tsx, or from {@link bundleClusterNode}'s bundle when `bundle` is given.
 */
export async function startClusterNode(
  opts: ClusterNodeOptions & { bundle?: string },
): Promise<ClusterNode> {
  const args = opts.bundle
    ? [opts.bundle]
    : ['--import', 'tsx', '--conditions=@duplex/source', nodeScript];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      NODE_NAME: opts.name,
      REDIS_URL: opts.redisUrl,
      DATABASE_URL: opts.databaseUrl,
      PG_SCHEMA: opts.pgSchema,
      PORT: String(opts.port ?? 0),
      HOST: opts.host ?? '127.0.0.1',
      ...(opts.adminToken ? { DUPLEX_ADMIN_TOKEN: opts.adminToken } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = opts.onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    for (const line of chunk.split('\n')) if (line.trim()) log(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ready = await new Promise<{ port: number; url: string }>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} did not start in time:\n${stderr}`));
    }, opts.startTimeoutMs ?? 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('{"ready":true'));
      if (!line) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as { port: number; url: string });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
  const base = ready.url.replace(/\/$/, '');
  return {
    name: opts.name,
    port: ready.port,
    url: base,
    wsUrl: `${base.replace(/^http/, 'ws')}/trpc`,
    process: child,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
