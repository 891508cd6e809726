/**
 * The server process: runs one contestant's server and publishes events on command from the
 * orchestrator (bench/realtime.bench.ts) over IPC. Started with `--expose-gc`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';
import { serveIpc } from './ipc';
import type { BenchEvent } from './routers';
import { type BenchServer, type Contestant, serverFactories } from './servers';
import { nowMs, sleep } from './stats';

let server: BenchServer | null = null;
let seq = 0;
let cpuMark = process.cpuUsage();
let ticker: NodeJS.Timeout | null = null;
let profiler: Session | null = null;
const eventText = 'x'.repeat(150);

const running = () => {
  if (!server) throw new Error('no server');
  return server;
};
const event = (): BenchEvent => ({ seq: ++seq, t: nowMs(), text: eventText });

async function collectGarbage() {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the server process with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
}

const handlers = {
  async start(args: { contestant: Contestant }) {
    server = await serverFactories[args.contestant]();
    return server.port;
  },

  async memory() {
    await collectGarbage();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    return { rss, heapUsed, external, arrayBuffers };
  },

  /**
   * Publishes `count` events as fast as the event loop allows (one per macrotask, so sockets
   * get written between events) and starts counting server CPU.
   */
  async burst(args: { count: number }) {
    const s = running();
    cpuMark = process.cpuUsage();
    const startedAt = nowMs();
    for (let i = 0; i < args.count; i++) {
      await s.publish(event());
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { startedAt, publishedAt: nowMs() };
  },

  /** Starts counting server CPU (a burst starts it too). */
  markCpu() {
    cpuMark = process.cpuUsage();
  },

  /** Server CPU (user + system) since the last burst started or `markCpu`, in ms. */
  cpuSinceMark() {
    const { user, system } = process.cpuUsage(cpuMark);
    return (user + system) / 1000;
  },

  /** Publishes one event every `intervalMs` until stopped; returns the first event's seq. */
  startTicker(args: { intervalMs: number }) {
    const first = seq + 1;
    void running().publish(event());
    ticker = setInterval(() => void running().publish(event()), args.intervalMs);
    return first;
  },

  /** Stops the ticker; returns the last published seq. */
  stopTicker() {
    if (ticker) clearInterval(ticker);
    ticker = null;
    return seq;
  },

  /** Starts the V8 CPU profiler in this process (`--profile-calls`). */
  async startProfile() {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  },

  /** Stops the profiler and writes a `.cpuprofile` (Chrome DevTools' format) to `file`. */
  async stopProfile(args: { file: string }) {
    if (!profiler) throw new Error('the profiler is not running');
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = null;
    mkdirSync(dirname(args.file), { recursive: true });
    writeFileSync(args.file, JSON.stringify(profile));
  },

  counters() {
    return running().counters?.() ?? null;
  },

  async restart() {
    const startedAt = nowMs();
    await running().restart();
    return { startedAt, listeningAt: nowMs() };
  },

  async close() {
    await server?.close();
    server = null;
  },
};

export type ServerHandlers = typeof handlers;
serveIpc(handlers);
// A clean exit, so that `--cpu-prof` writes its profile.
process.on('SIGINT', () => process.exit(0));
