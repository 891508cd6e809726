import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The oldest tRPC the peer range admits: what the registry's `@trpc/tanstack-react-query` pins. */
export const oldestTrpcVersion = '11.22.1';

/** The newest stable 11.x on the registry, asked when the suite starts. */
export async function newestTrpcVersion(): Promise<string> {
  const { stdout } = await run('npm', ['view', '@trpc/server@11', 'version', '--json']);
  const listed = JSON.parse(stdout) as string | string[];
  const versions = (Array.isArray(listed) ? listed : [listed]).filter((v) =>
    /^\d+\.\d+\.\d+$/.test(v),
  );
  const newest = versions.sort(compareVersions).at(-1);
  if (!newest) throw new Error(`No stable @trpc/server 11.x in: ${stdout}`);
  return newest;
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/** Registry packages the consumer installs, at the versions this repo's lockfile runs. */
export interface ConsumerVersions {
  pglite: string;
  zod: string;
  typesNode: string;
  esbuild: string;
  superjson: string;
  tsx: string;
  typescript: string;
  vitest: string;
  ws: string;
  react: string;
  reactDom: string;
  typesReact: string;
  typesReactDom: string;
  tanstackReactQuery: string;
  trpcTanstackReactQuery: string;
}

export async function consumerVersions(repoRoot: string): Promise<ConsumerVersions> {
  const installed = async (name: string) =>
    (
      JSON.parse(await readFile(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  return {
    pglite: await installed('@electric-sql/pglite'),
    zod: await installed('zod'),
    typesNode: await installed('@types/node'),
    esbuild: await installed('esbuild'),
    superjson: await installed('superjson'),
    tsx: await installed('tsx'),
    typescript: await installed('typescript'),
    vitest: await installed('vitest'),
    ws: await installed('ws'),
    react: await installed('react'),
    reactDom: await installed('react-dom'),
    typesReact: await installed('@types/react'),
    typesReactDom: await installed('@types/react-dom'),
    tanstackReactQuery: await installed('@tanstack/react-query'),
    trpcTanstackReactQuery: await installed('@trpc/tanstack-react-query'),
  };
}

/** One tarball as `npm pack --json` describes it. */
export interface Packed {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

/** The publishable packages: every package under `packages/` that is not private. */
export async function publishablePackages(repoRoot: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(repoRoot, 'packages'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const manifest = JSON.parse(
      await readFile(join(repoRoot, 'packages', entry.name, 'package.json'), 'utf8'),
    ) as { private?: boolean };
    if (!manifest.private) found.push(`packages/${entry.name}`);
  }
  return found.sort();
}

/** Packs every publishable package (its `prepack` builds it) into `destination`. */
export async function packDuplex(repoRoot: string, destination: string): Promise<Packed[]> {
  await mkdir(destination, { recursive: true });
  const workspaces = (await publishablePackages(repoRoot)).flatMap((w) => ['--workspace', w]);
  const { stdout } = await run(
    'npm',
    ['pack', ...workspaces, '--pack-destination', destination, '--json'],
    {
      cwd: repoRoot,
      timeoutMs: 280_000,
    },
  );
  // Build logs from `prepack` come first; the JSON report is the last top-level array.
  return JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Packed[];
}

/** The ```ts blocks of a Markdown page that open with a `// file.ts` line, in order. */
export function codeBlocksOf(markdown: string): { file: string; code: string }[] {
  const blocks: { file: string; code: string }[] = [];
  for (const match of markdown.matchAll(/```ts\n\/\/ ([\w.-]+\.ts)\n([\s\S]*?)```/g)) {
    blocks.push({ file: match[1]!, code: `// ${match[1]}\n${match[2]}` });
  }
  return blocks;
}

/** Every package `name` brings into an installed project: its dependencies, all the way down. */
export async function dependencyClosure(projectDir: string, name: string): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (pkg: string) => {
    if (seen.has(pkg)) return;
    seen.add(pkg);
    const manifest = JSON.parse(
      await readFile(join(projectDir, 'node_modules', pkg, 'package.json'), 'utf8'),
    ) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) await visit(dep);
  };
  await visit(name);
  seen.delete(name);
  return [...seen].sort();
}

interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs a command to its end; rejects with its output when it fails or overruns. */
export function run(
  command: string,
  args: string[],
  opts: RunOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code ?? signal}\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`,
          ),
        );
    });
  });
}

/** A long-running process whose output can be waited on; killed on dispose. */
export interface StartedProcess extends AsyncDisposable {
  /** Resolves with the match once the output (stdout and stderr) matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  output(): string;
}

export async function startProcess(
  command: string,
  args: string[],
  opts: RunOptions = {},
): Promise<StartedProcess> {
  const child: ChildProcess = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      for (const waiter of waiters) waiter();
      resolve();
    });
  });
  return {
    output: () => output,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) return finish(() => resolve(match));
          if (exited)
            return finish(() =>
              reject(
                new Error(`${command} ${args.join(' ')} exited before ${pattern}:\n${output}`),
              ),
            );
        };
        const timer = setTimeout(
          () =>
            finish(() => reject(new Error(`${pattern} not seen in ${timeoutMs} ms:\n${output}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async [Symbol.asyncDispose]() {
      if (exited) return;
      // npx → tsx → node: the whole process group goes.
      process.kill(-child.pid!, 'SIGTERM');
      const killTimer = setTimeout(() => !exited && process.kill(-child.pid!, 'SIGKILL'), 5_000);
      await exit;
      clearTimeout(killTimer);
    },
  };
}
