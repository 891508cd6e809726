/**
 * The footprint of `npm start` (issue 18 item 11): how long the chat server takes to answer
 * `GET /healthz` on a fresh data directory, after a clean stop and after a SIGKILL, and the RSS
 * it holds idle, with a bare PGlite open beside it for reference.
 *
 * The server is started as `npm start` starts it: `node scripts/start.mjs` in `examples/chat`
 * (which builds what changed, then runs the server in that process), on a temporary data
 * directory, 127.0.0.1 and a free port, with both builds current (their time is measured apart,
 * forced). `--tsx` starts it as `npm start` did before issue 18: `tsx --conditions=@duplex/source
 * src/server/main.ts` after a `vite build`. RSS is the server process's own `VmRSS` (under tsx,
 * of the node process tsx runs, not of the tsx wrapper), read once it has been idle for the
 * settle time; `peak` is its `VmHWM`; `tree` adds its children (tsx's wrapper and esbuild).
 * CPU is what the processes used until `/healthz` answered, initdb's child included. Before the
 * SIGKILL users send messages (each acknowledged, so committed), and after the restart the bench
 * checks they are all there.
 *
 * Run: npm run bench:footprint  (-- --runs=3, --settle=5000 ms idle before RSS is read,
 * --no-build skips timing the builds, --tsx, --json writes bench/results/footprint-<time>.json)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDuplexClient, idempotent } from '@duplex/client';
import type { AppRouter } from '@duplex/example-chat/router';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const chatDir = join(root, 'examples/chat');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const arg = (name: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg('runs') ?? 3);
const useTsx = process.argv.includes('--tsx');
const settleMs = Number(arg('settle') ?? 5_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;

// --- helpers ------------------------------------------------------------------------------------

/** `VmRSS` and `VmHWM` (peak) of a process, in bytes. */
function procStatus(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time (ms) a process used, with that of its children it has waited for (initdb's). */
function cpuMs(pid: number): number {
  try {
    // Fields after the `(comm)`: state is [0], utime [11], stime [12], cutime [13], cstime [14].
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return ((fields[11]! + fields[12]! + fields[13]! + fields[14]!) * 1000) / clockTicks;
  } catch {
    return 0;
  }
}

/** The process and its descendants, parents first. */
function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/).map(Number) : []) {
        out.push(...processTree(child));
      }
    }
  } catch {
    // exited meanwhile
  }
  return out;
}

/** The server: the spawned process, or under tsx the deepest node process below it. */
function serverPid(wrapper: number): number {
  if (!useTsx) return wrapper;
  const nodes = processTree(wrapper).filter((pid) => {
    try {
      return /node/.test(readFileSync(`/proc/${pid}/comm`, 'utf8'));
    } catch {
      return false;
    }
  });
  return nodes.at(-1) ?? wrapper;
}

interface Started {
  child: ChildProcess;
  url: string;
  /** Spawn → the first `GET /healthz` answered 200. */
  startMs: number;
  /** CPU time the processes (tsx, the server, its initdb child, esbuild) used until then. */
  startCpuMs: number;
  exited: Promise<number | null>;
}

/** Starts the server on `dataDir` and waits until `/healthz` answers. */
async function startServer(dataDir: string): Promise<Started> {
  const started = performance.now();
  const [command, args] = useTsx
    ? [bin('tsx'), ['--conditions=@duplex/source', 'src/server/main.ts']]
    : [process.execPath, ['scripts/start.mjs']];
  const child = spawn(command, args, {
    cwd: chatDir,
    env: { ...process.env, DUPLEX_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a stop signals the group, as Ctrl+C does in a terminal.
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/[^\s]+)/.exec(output);
      if (match?.[1]) resolve(match[1].replace(/\/$/, ''));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exited.then((code) =>
      reject(new Error(`server exited (${code}) before ready:\n${output}`)),
    );
  });
  for (;;) {
    const res = await fetch(`${url}/healthz`).catch(() => null);
    if (res?.ok) break;
    await sleep(10);
  }
  const startMs = performance.now() - started;
  const startCpuMs = processTree(child.pid!).reduce((sum, pid) => sum + cpuMs(pid), 0);
  return { child, url, startMs, startCpuMs, exited };
}

/** Stops the server: SIGINT to its group (Ctrl+C), or SIGKILL to the server process. */
async function stopServer(server: Started, how: 'clean' | 'kill'): Promise<number> {
  const started = performance.now();
  const pid = server.child.pid!;
  if (how === 'kill') {
    // A hard kill of the server process itself, then of whatever is left of the group.
    process.kill(serverPid(pid), 'SIGKILL');
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  } else {
    process.kill(-pid, 'SIGINT');
  }
  await server.exited;
  return performance.now() - started;
}

/** RSS of the server after `settleMs` idle; the peak since it started; and the whole tree's. */
async function idleRss(server: Started) {
  await sleep(settleMs);
  const wrapper = server.child.pid!;
  const pid = serverPid(wrapper);
  const own = procStatus(pid);
  const tree = processTree(wrapper).reduce((sum, p) => {
    try {
      return sum + procStatus(p).rss;
    } catch {
      return sum;
    }
  }, 0);
  return { rss: own.rss, peak: own.peak, treeRss: tree };
}

/**
 * Sends `count` messages to the lobby, each acknowledged (committed), five per user (the chat's
 * default rate limit is five a second per user).
 */
async function sendMessages(url: string, count: number): Promise<string> {
  const marker = randomUUID();
  const users = Math.ceil(count / 5);
  await Promise.all(
    Array.from({ length: users }, async (_, u) => {
      const client = createDuplexClient<AppRouter>({
        url: `${url.replace(/^http/, 'ws')}/trpc`,
        token: `footprint-${u}`,
      });
      await client.chat.joinRoom.mutate({ roomId: 'general' });
      for (let i = u * 5; i < Math.min(count, u * 5 + 5); i++) {
        await client.chat.send.mutate(
          { roomId: 'general', clientMsgId: `${marker}-${i}`, text: `${marker} ${i}` },
          idempotent,
        );
      }
      await client.$close();
    }),
  );
  return marker;
}

/** How many of the lobby's newest messages carry `marker`. */
async function countMessages(url: string, marker: string): Promise<number> {
  const client = createDuplexClient<AppRouter>({
    url: `${url.replace(/^http/, 'ws')}/trpc`,
    token: 'footprint-0',
  });
  const messages = await client.chat.history.query({ roomId: 'general', limit: 200 });
  await client.$close();
  return messages.filter((m) => m.text?.startsWith(marker)).length;
}

/**
 * This file bundled (workspace packages from source), so a bare open runs on plain Node: under
 * tsx, importing PGlite alone costs ~40 MiB more. Beside node_modules, where PGlite resolves.
 */
const bareScript = join(root, 'node_modules/.cache/duplex-footprint/bench.mjs');

async function bareOpen(dataDir: string, mode: 'pglite' | 'duplex') {
  const child = spawn(
    process.execPath,
    [bareScript, '--bare-open', dataDir, mode, `--settle=${settleMs}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bare open (${mode}) failed: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as {
    openMs: number;
    openCpuMs: number;
    rssAfterOpen: number;
    rss: number;
    peak: number;
  };
}

// --- a child mode: one bare PGlite open, for the reference rows -------------------------------

if (process.argv[2] === '--bare-open') {
  const [, , , dataDir, mode] = process.argv;
  const started = performance.now();
  const cpuBefore = cpuMs(process.pid);
  let close: () => Promise<void>;
  if (mode === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = await PGlite.create(dataDir);
    close = () => pg.close();
  } else {
    const { createPgliteDatabase } = await import('@duplex/sql');
    const db = await createPgliteDatabase({ dataDir });
    close = () => db.close();
  }
  const openMs = performance.now() - started;
  const openCpuMs = cpuMs(process.pid) - cpuBefore;
  const afterOpen = procStatus(process.pid);
  await sleep(settleMs);
  const settled = procStatus(process.pid);
  await close();
  console.log(JSON.stringify({ openMs, openCpuMs, rssAfterOpen: afterOpen.rss, ...settled }));
  process.exit(0);
}

// --- the runs -----------------------------------------------------------------------------------

const load = loadavg()[0]!.toFixed(1);
const messagesBeforeKill = 100;

/** Runs a command in examples/chat; its wall time in ms, or null if it failed. */
async function timed(command: string, args: string[]): Promise<number | null> {
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) =>
    spawn(command, args, { cwd: chatDir, stdio: 'inherit' }).once('exit', resolve),
  );
  if (code !== 0) console.warn(`${command} ${args.join(' ')} failed; its time is left out`);
  return code === 0 ? performance.now() - started : null;
}

/** Forced: both builds (in parallel) or, under --tsx, `vite build`. Current: the up-to-date check. */
const builds: { forced: number | null; current: number | null } = { forced: null, current: null };
if (useTsx) {
  if (!process.argv.includes('--no-build')) {
    builds.forced = await timed(bin('vite'), ['build', '--logLevel', 'warn']);
  }
} else {
  if (!process.argv.includes('--no-build')) {
    builds.forced = await timed(process.execPath, ['scripts/start.mjs', '--build-only', '--force']);
  }
  builds.current = await timed(process.execPath, ['scripts/start.mjs', '--build-only']);
}

interface Sample {
  startMs: number;
  startCpuMs: number;
  rss: number;
  peak: number;
  treeRss: number;
}
const server: Record<'first' | 'restart' | 'afterKill', Sample[]> = {
  first: [],
  restart: [],
  afterKill: [],
};
const stops: number[] = [];
const lost: number[] = [];

for (let run = 0; run < runs; run++) {
  const base = await mkdtemp(join(tmpdir(), 'duplex-footprint-'));
  const dataDir = join(base, 'chat');
  try {
    // A fresh directory: PGlite runs initdb, the stores migrate.
    let s = await startServer(dataDir);
    server.first.push({ startMs: s.startMs, startCpuMs: s.startCpuMs, ...(await idleRss(s)) });
    stops.push(await stopServer(s, 'clean'));

    // After a clean stop (Ctrl+C).
    s = await startServer(dataDir);
    server.restart.push({ startMs: s.startMs, startCpuMs: s.startCpuMs, ...(await idleRss(s)) });
    const marker = await sendMessages(s.url, messagesBeforeKill);
    await stopServer(s, 'kill');

    // After a SIGKILL: PGlite replays its WAL; every acknowledged message must be there.
    s = await startServer(dataDir);
    server.afterKill.push({ startMs: s.startMs, startCpuMs: s.startCpuMs, ...(await idleRss(s)) });
    lost.push(messagesBeforeKill - (await countMessages(s.url, marker)));
    await stopServer(s, 'clean');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  console.log(`run ${run + 1}/${runs} done`);
}

await build({
  entryPoints: [fileURLToPath(import.meta.url)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@duplex/source'],
  external: ['@electric-sql/pglite', 'pg', 'pg-native', 'ioredis'],
  banner: {
    js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
  },
  outfile: bareScript,
  logLevel: 'warning',
});
type BareSample = Awaited<ReturnType<typeof bareOpen>>;
const bare: Record<string, BareSample[]> = {
  'pglite fresh': [],
  'pglite reopen': [],
  'duplex fresh': [],
  'duplex reopen': [],
};
for (const mode of ['pglite', 'duplex'] as const) {
  for (let run = 0; run < runs; run++) {
    const base = await mkdtemp(join(tmpdir(), 'duplex-footprint-bare-'));
    try {
      const fresh = await bareOpen(join(base, 'db'), mode);
      const reopen = await bareOpen(join(base, 'db'), mode);
      bare[`${mode} fresh`]!.push(fresh);
      bare[`${mode} reopen`]!.push(reopen);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  }
}

// --- the table ----------------------------------------------------------------------------------

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const range = (values: number[], fmt: (v: number) => string) =>
  values.length === 1
    ? fmt(values[0]!)
    : `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
const sec = (ms: number) => (ms / 1000).toFixed(1);
const mib = (bytes: number) => Math.round(bytes / MiB).toString();
/** One table cell: `key` of every sample, as `range` writes it. */
const column = <T, K extends keyof T>(samples: T[], key: K, fmt: (v: number) => string) =>
  range(
    samples.map((s) => s[key] as number),
    fmt,
  );

const rows: string[][] = [
  ['', 'ready (s)', 'CPU to ready (s)', 'idle RSS (MiB)', 'peak RSS (MiB)', 'tree RSS (MiB)'],
];
const labels = {
  first: 'server, fresh data dir',
  restart: 'server, restart after a clean stop',
  afterKill: 'server, restart after SIGKILL',
} as const;
for (const key of ['first', 'restart', 'afterKill'] as const) {
  const samples = server[key];
  rows.push([
    labels[key],
    column(samples, 'startMs', sec),
    column(samples, 'startCpuMs', sec),
    column(samples, 'rss', mib),
    column(samples, 'peak', mib),
    column(samples, 'treeRss', mib),
  ]);
}
for (const [name, samples] of Object.entries(bare)) {
  rows.push([
    `bare open: ${name === 'duplex fresh' || name === 'duplex reopen' ? name.replace('duplex', 'createPgliteDatabase') : name.replace('pglite', 'PGlite defaults,')}`,
    column(samples, 'openMs', sec),
    column(samples, 'openCpuMs', sec),
    column(samples, 'rss', mib),
    column(samples, 'peak', mib),
    '',
  ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const line = (r: string[]) =>
  `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log();
console.log(line(rows[0]!));
console.log(
  `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
);
for (const r of rows.slice(1)) console.log(line(r));
console.log();
console.log(
  `- ${runs} run(s), median (min–max). Idle = ${settleMs / 1000} s after /healthz answered. ` +
    `Server started ${useTsx ? 'under tsx, after `vite build`' : 'by `node scripts/start.mjs`'}; ` +
    `builds, forced: ${builds.forced === null ? 'not run' : `${sec(builds.forced)} s`}` +
    `${builds.current === null ? '' : `, when current: ${sec(builds.current)} s`}. ` +
    `Clean stop: ${range(stops, sec)} s. Acknowledged messages lost to the SIGKILL: ` +
    `${lost.join(', ')} of ${messagesBeforeKill}.`,
);
console.log(
  `- Machine: ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}; ` +
    `load average ${load} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
);

if (process.argv.includes('--json')) {
  const dir = join(root, 'bench/results');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const file = join(dir, `footprint-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ runs, settleMs, useTsx, builds, server, stops, lost, bare, load }, null, 2),
  );
  console.log(`- JSON: ${file}`);
}
if (lost.some((n) => n !== 0)) {
  console.error('acknowledged messages were lost across a SIGKILL');
  process.exitCode = 1;
}
