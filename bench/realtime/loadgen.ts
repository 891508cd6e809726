/**
 * A load generator process: holds benchmark clients of one contestant and drives them on
 * command from the orchestrator (bench/realtime.bench.ts) over IPC.
 */
import { type BenchClient, clientFactories } from './clients';
import { serveIpc } from './ipc';
import type { Contestant } from './servers';
import { createSampler, nowMs, percentile } from './stats';

interface Subscriber {
  client: BenchClient;
  starts: number;
  startsAtArm: number;
  attemptsAtArm: number;
  /** When the first subscription confirmed after the storm was armed arrived; 0 before. */
  resumedAt: number;
  /** Sequence numbers seen since the storm was armed; `null` outside a storm. */
  seen: Set<number> | null;
  duplicated: number;
}

let contestant: Contestant = 'ws';
let port = 0;
const subscribers: Subscriber[] = [];
/** The connection between `latencyWarmup` and `latencyTimed`. */
let latencyClient: {
  client: BenchClient;
  call: (text: string) => Promise<unknown>;
  text: string;
} | null = null;
const fanout = { delivered: 0, gaps: 0, lastAt: 0, latencies: createSampler(200_000), cpu: 0 };

const textOf = (bytes: number) => 'x'.repeat(bytes);

/** The query a call row measures: the plain echo, or the echo behind one middleware. */
export type BenchProcedure = 'echo' | 'echoAuthed';

function caller(
  client: BenchClient,
  procedure: BenchProcedure,
): (text: string) => Promise<unknown> {
  if (procedure === 'echo') return (text) => client.echo(text);
  const echoAuthed = client.echoAuthed?.bind(client);
  if (!echoAuthed) throw new Error(`${contestant} has no ${procedure}`);
  return echoAuthed;
}

async function openClients(count: number): Promise<BenchClient[]> {
  const clients = Array.from({ length: count }, () => clientFactories[contestant](port));
  await Promise.all(clients.map((client) => client.opened));
  return clients;
}

async function addSubscriber(): Promise<void> {
  const [client] = await openClients(1);
  const sub: Subscriber = {
    client: client!,
    starts: 0,
    startsAtArm: 0,
    attemptsAtArm: 0,
    resumedAt: 0,
    seen: null,
    duplicated: 0,
  };
  subscribers.push(sub);
  await new Promise<void>((resolve) => {
    client!.subscribe({
      started() {
        sub.starts++;
        if (sub.seen && sub.resumedAt === 0) sub.resumedAt = nowMs();
        resolve();
      },
      event(event) {
        const at = nowMs();
        fanout.delivered++;
        fanout.lastAt = at;
        fanout.latencies.add(at - event.t);
        if (sub.seen) {
          if (sub.seen.has(event.seq)) sub.duplicated++;
          else sub.seen.add(event.seq);
        }
      },
      gap() {
        fanout.gaps++;
      },
    });
  });
}

const handlers = {
  init(args: { contestant: Contestant; port: number }) {
    contestant = args.contestant;
    port = args.port;
  },

  /**
   * A new connection for the latency rows, warmed up: `warmup` sequential calls and at least
   * `warmupMs` of them; the first `coldCalls` are timed (their p50 in ms is returned). The
   * timed calls follow in {@link handlers.latencyTimed}, so the server's CPU can be marked
   * between the two.
   */
  async latencyWarmup(args: {
    procedure: BenchProcedure;
    payloadBytes: number;
    warmup: number;
    warmupMs: number;
    coldCalls: number;
  }) {
    const [client] = await openClients(1);
    const call = caller(client!, args.procedure);
    const text = textOf(args.payloadBytes);
    const cold: number[] = [];
    const warmUntil = nowMs() + args.warmupMs;
    for (let i = 0; i < args.warmup || i < args.coldCalls || nowMs() < warmUntil; i++) {
      const started = nowMs();
      await call(text);
      if (i < args.coldCalls) cold.push(nowMs() - started);
    }
    latencyClient = { client: client!, call, text };
    return { coldP50: percentile(cold, 0.5) };
  },

  /**
   * `calls` sequential calls on the connection {@link handlers.latencyWarmup} opened, then
   * closes it: p50 and p99 in ms, and this process's CPU per call in µs.
   */
  async latencyTimed(args: { calls: number }) {
    if (!latencyClient) throw new Error('latencyWarmup first');
    const { client, call, text } = latencyClient;
    latencyClient = null;
    const times: number[] = [];
    const cpuBefore = cpuMs();
    for (let i = 0; i < args.calls; i++) {
      const started = nowMs();
      await call(text);
      times.push(nowMs() - started);
    }
    const clientCpuUsPerCall = ((cpuMs() - cpuBefore) * 1000) / args.calls;
    await client.close();
    return {
      p50: percentile(times, 0.5),
      p99: percentile(times, 0.99),
      calls: args.calls,
      clientCpuUsPerCall,
    };
  },

  /**
   * `connections` × `inFlight` callers (each starts its next call when one completes) for
   * `warmupMs`, then counted in `windows` equal windows over `durationMs`: the best window is
   * the rate, so a burst of unrelated work on the shared machine costs one window, not the run.
   * `calls` counts every call answered, warmup included (the server's CPU is divided by it).
   */
  async throughput(args: {
    procedure: BenchProcedure;
    connections: number;
    inFlight: number;
    payloadBytes: number;
    warmupMs: number;
    durationMs: number;
    windows: number;
  }) {
    const clients = await openClients(args.connections);
    const text = textOf(args.payloadBytes);
    const measureFrom = nowMs() + args.warmupMs;
    const windowMs = args.durationMs / args.windows;
    const end = measureFrom + args.durationMs;
    const counts = new Array<number>(args.windows).fill(0);
    let calls = 0;
    const worker = async (client: BenchClient) => {
      const call = caller(client, args.procedure);
      while (nowMs() < end) {
        await call(text);
        calls++;
        const window = Math.floor((nowMs() - measureFrom) / windowMs);
        if (window >= 0 && window < args.windows) counts[window]!++;
      }
    };
    await Promise.all(
      clients.flatMap((client) => Array.from({ length: args.inFlight }, () => worker(client))),
    );
    for (const client of clients) await client.close();
    const perSecond = counts.map((n) => n / (windowMs / 1000));
    return { callsPerSecond: Math.max(...perSecond), windows: perSecond, calls };
  },

  /** Opens and subscribes `count` more clients, `batch` at a time; resolves when all started. */
  async addSubscribers(args: { count: number; batch: number }) {
    for (let done = 0; done < args.count; done += args.batch) {
      const n = Math.min(args.batch, args.count - done);
      await Promise.all(Array.from({ length: n }, addSubscriber));
    }
    return subscribers.length;
  },

  armFanout() {
    fanout.delivered = 0;
    fanout.gaps = 0;
    fanout.lastAt = 0;
    fanout.latencies.reset();
    fanout.cpu = cpuMs();
  },

  fanoutProgress() {
    return { delivered: fanout.delivered, lastAt: fanout.lastAt };
  },

  fanoutResult() {
    return {
      delivered: fanout.delivered,
      gaps: fanout.gaps,
      lastAt: fanout.lastAt,
      latencies: fanout.latencies.values(),
      cpuMs: cpuMs() - fanout.cpu,
    };
  },

  armStorm() {
    for (const sub of subscribers) {
      sub.startsAtArm = sub.starts;
      sub.resumedAt = 0;
      sub.attemptsAtArm = sub.client.attempts?.() ?? 0;
      sub.seen = new Set();
      sub.duplicated = 0;
    }
    fanout.gaps = 0;
  },

  stormProgress(args: { lastSeq: number | null }) {
    let resumed = 0;
    let caughtUp = 0;
    for (const sub of subscribers) {
      if (sub.resumedAt > 0) resumed++;
      if (args.lastSeq !== null && sub.seen?.has(args.lastSeq)) caughtUp++;
    }
    return { resumed, caughtUp };
  },

  /**
   * Ticks in `firstSeq..lastSeq` each client missed or saw twice, counted apart for clients
   * that resubscribed and clients that never did (those miss everything after the restart).
   */
  stormResult(args: { firstSeq: number; lastSeq: number }) {
    let lost = 0;
    let lostByNotResumed = 0;
    let duplicated = 0;
    let attempts = 0;
    const resumedAt: number[] = [];
    for (const sub of subscribers) {
      attempts += (sub.client.attempts?.() ?? 0) - sub.attemptsAtArm;
      let missed = 0;
      for (let seq = args.firstSeq; seq <= args.lastSeq; seq++) if (!sub.seen?.has(seq)) missed++;
      if (sub.resumedAt > 0) {
        lost += missed;
        resumedAt.push(sub.resumedAt);
      } else lostByNotResumed += missed;
      duplicated += sub.duplicated;
      sub.seen = null;
    }
    return { lost, lostByNotResumed, duplicated, gaps: fanout.gaps, resumedAt, attempts };
  },

  async closeAll() {
    await Promise.all(subscribers.map((sub) => sub.client.close()));
    subscribers.length = 0;
  },
};

function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export type LoadgenHandlers = typeof handlers;
serveIpc(handlers);
