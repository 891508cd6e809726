/**
 * The server process: runs one contestant's server and publishes events on command from the
 * orchestrator (bench/realtime.bench.ts) over IPC. Started with `--expose-gc`.
 */
import { serveIpc } from './ipc';
import type { BenchEvent } from './routers';
import { type BenchServer, type Contestant, serverFactories } from './servers';
import { nowMs, sleep } from './stats';

let server: BenchServer | null = null;
let seq = 0;
let cpuMark = process.cpuUsage();
let ticker: NodeJS.Timeout | null = null;
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

  /** Server CPU (user + system) since the last burst started, in ms. */
  cpuSinceBurst() {
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
