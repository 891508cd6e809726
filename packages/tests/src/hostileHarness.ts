/**
 * The hostile-process suite's harness, shared with `bench/hostile.bench.ts`: the server under
 * attack and the attacker each in a child process of their own (see `fixtures/hostileServer.ts`
 * and `fixtures/attacker.ts`), and a well-behaved `@duplex/client` in this one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChatLimits } from '@duplex/chat';
import { createDuplexClient } from '@duplex/client';
import type { DuplexLimits } from '@duplex/server';
import type { HostileRouter } from './fixtures/hostileServer';

export type Attack = 'http' | 'frames' | 'budgets' | 'slow' | 'uploads';

/** How the server is set up for each attack, in the suite and the bench alike. */
export const attackSetups: Record<Attack, HostileServerOptions & { publish?: [number, number] }> = {
  http: {},
  frames: {},
  // Reached with a few hundred sockets, which even a loaded machine opens in seconds; the
  // default (1,024) is the same code with a larger number.
  budgets: { limits: { maxConnectionsPerIp: 256 } },
  // Events of `[eventBytes, perTick]` published on `flood` during the attack: 32 MB/s.
  slow: { publish: [32 * 1024, 10] },
  uploads: { store: 'pglite' },
};

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const tsxArgs = ['--import', 'tsx', '--conditions=@duplex/source'];
/** `Infinity` survives the trip through JSON as a string the server reads back. */
const encodeLimits = (limits: object) =>
  JSON.stringify(limits, (_key, value) =>
    value === Number.POSITIVE_INFINITY ? 'Infinity' : value,
  );

export interface ServerMemory {
  rss: number;
  peak: number;
  /** Open file descriptors now, and their peak since `resetPeak` (sampled every 20 ms). */
  fds: number;
  peakFds: number;
  /** V8's heap in use plus external memory (buffers): what the server holds, not what the allocator keeps. */
  heap: number;
  /** How late the server's timers ran since `resetPeak` (p99 and max, ms): its loop blocked. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** CPU time the server used since `resetPeak`, user and system (ms). */
  cpuMs: number;
  storedBytes: number;
}

export interface HostileServerOptions {
  limits?: Partial<DuplexLimits>;
  chatLimits?: Partial<ChatLimits>;
  /** `pglite`: the chat store on PGlite with attachments in files, as `npm start` runs it. */
  store?: 'memory' | 'pglite';
}

/** Starts the server under attack in its own process (with `--expose-gc`) on 127.0.0.1:0. */
export async function startHostileServer(opts: HostileServerOptions = {}) {
  const child = spawn(process.execPath, [...tsxArgs, '--expose-gc', fixture('hostileServer.ts')], {
    env: {
      ...process.env,
      HOSTILE_LIMITS: encodeLimits(opts.limits ?? {}),
      HOSTILE_CHAT_LIMITS: encodeLimits(opts.chatLimits ?? {}),
      HOSTILE_STORE: opts.store ?? 'memory',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : 0);
      resolve();
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { type: string; port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`hostile server exited with ${code}`)));
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  return {
    port,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}/trpc`,
    child,
    /** Whether the process is still running. */
    get alive() {
      return exitCode === null && child.connected;
    },
    /** The server's RSS now (after a full GC when `gc`), its peak since `resetPeak`, and stored attachment bytes. */
    async memory(gc = false): Promise<ServerMemory> {
      const reply = await Promise.race([
        new Promise<ServerMemory>((resolve) => {
          child.once('message', (m: ServerMemory) => resolve(m));
          if (child.connected) child.send({ type: 'rss', gc });
        }),
        // A server that dies mid-attack fails the case at once instead of at the test timeout.
        exited.then(() => null),
      ]);
      if (!reply) throw new Error(`hostile server exited with ${exitCode}`);
      return reply;
    },
    resetPeak() {
      child.send({ type: 'resetPeak' });
    },
    /** Publishes `perTick` events of `eventBytes` on `flood` every 10 ms until `stopPublish`. */
    publish(eventBytes: number, perTick: number) {
      child.send({ type: 'publish', eventBytes, perTick });
    },
    stopPublish() {
      child.send({ type: 'stopPublish' });
    },
    /** The value of one `/metrics` series. */
    async metric(name: string): Promise<number> {
      const text = await (await fetch(`${httpUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      if (!line) throw new Error(`no metric ${name}`);
      return Number(line.slice(name.length + 1));
    },
    async [Symbol.asyncDispose]() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
export type HostileServer = Awaited<ReturnType<typeof startHostileServer>>;

/**
 * Runs one attack in its own process for about `ms`; resolves with what the attacker counted.
 * The attacker runs at the lowest priority (`nice -n 19`): on one machine it otherwise takes
 * CPU the server needs (a frames flood held the server's event loop 700 ms late while the
 * server itself used 21% of a core; niced, 30-60 ms), which an attacker on the internet
 * cannot do.
 */
export function runAttacker(attack: Attack, port: number, ms: number) {
  const child: ChildProcess = spawn(
    'nice',
    [
      '-n',
      '19',
      process.execPath,
      ...tsxArgs,
      fixture('attacker.ts'),
      attack,
      String(port),
      String(ms),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise<Record<string, number>>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
      else reject(new Error(`attacker ${attack} exited with ${code}: ${out}`));
    });
  });
}

/** A well-behaved client of the server under attack, from 127.0.0.1. */
export function goodClient(server: HostileServer) {
  return createDuplexClient<HostileRouter>({
    url: server.wsUrl,
    token: 'good',
    reconnect: { delayMs: () => 10 },
  });
}
export type GoodClient = ReturnType<typeof goodClient>;

/**
 * Makes round trips (a `ping`, 25 ms apart: within the default `callsPerSecond`, 50, so the
 * client's own rate limit never slows it) until `until` settles; resolves with each one's time
 * in ms. A call that fails rejects.
 */
export async function roundTripsUntil(client: GoodClient, until: Promise<unknown>) {
  let done = false;
  const finished = until.finally(() => {
    done = true;
  });
  const times: number[] = [];
  while (!done) {
    const start = performance.now();
    await client.ping.query();
    times.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await finished;
  return times;
}

/**
 * Samples the server's peak RSS every 200 ms while `until` is pending, so a peak is seen even if
 * the process dies; resolves with the highest.
 */
export async function peakRssDuring(server: HostileServer, until: Promise<unknown>) {
  let done = false;
  const finished = until.finally(() => {
    done = true;
  });
  let peak = 0;
  while (!done && server.alive) {
    peak = Math.max(peak, (await server.memory()).peak);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await finished;
  if (server.alive) peak = Math.max(peak, (await server.memory()).peak);
  return peak;
}

export const MiB = 1024 * 1024;
