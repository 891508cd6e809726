import type { IpcClient } from './ipc';
import type { BenchProcedure, LoadgenHandlers } from './loadgen';
import type { ServerHandlers } from './server';
import type { Contestant } from './servers';
import { percentile, sleep } from './stats';

/** How big a run is; `--quick` and the full run differ only here. */
export interface BenchConfig {
  mode: 'full' | 'quick' | 'tiny';
  latencyCalls: number;
  /**
   * Calls a new client makes before the timed ones, and for at least `latencyWarmupMs`: the
   * latency rows are steady state. Duplex runs more JavaScript per call than raw `ws`, so its
   * first calls run before V8 has optimised it (p50 0.52 ms for calls 201-1,200, 0.10 ms after
   * 3,000, measured 2026-11-28); the first {@link coldCalls} are reported as their own row.
   */
  latencyWarmup: number;
  latencyWarmupMs: number;
  throughputWarmupMs: number;
  throughputMs: number;
  /** Windows `throughputMs` is cut into; the best window's rate is reported. */
  throughputWindows: number;
  /** Subscriber counts of the fan-out runs, ascending; the last is also used for memory and the storm. */
  fanoutSubscribers: number[];
  fanoutEvents: number;
  loadgens: number;
  /** Subscribers opened at once per load generator. */
  connectBatch: number;
  /** How often the storm's publisher ticks. */
  stormTickMs: number;
  /** Longest wait for any one phase before it is reported incomplete. */
  phaseTimeoutMs: number;
  /** The WebSocket handler the Duplex server runs (`--duplex-handler=`). */
  duplexHandler: 'duplex' | 'stock';
}

export const payloads = [100, 4096] as const;

/** How many of a new client's first calls the cold round-trip row times. */
export const coldCalls = 1_000;

export interface RoundTripResult {
  procedure: BenchProcedure;
  payloadBytes: number;
  p50Ms: number;
  p99Ms: number;
  /** p50 of a new client's first {@link coldCalls} calls (part of the warm-up), in ms. */
  coldP50Ms: number;
  /**
   * CPU per call of the server process and of the load generator over the timed round trips
   * (1 in flight, after the warm-up), in µs: what the p50 is made of besides the wait.
   */
  serverCpuUsPerCall1x1: number;
  clientCpuUsPerCall1x1: number;
  callsPerSecond1x64: number;
  callsPerSecond50x8: number;
  /**
   * The server process's CPU (user + system) over the whole throughput run, warmup and opening
   * and closing the connections included, divided by the calls answered in it.
   */
  serverCpuUsPerCall1x64: number;
  serverCpuUsPerCall50x8: number;
}

export interface FanoutResult {
  subscribers: number;
  events: number;
  expected: number;
  delivered: number;
  gaps: number;
  deliveriesPerSecond: number;
  /** How long the server took to publish the burst: short when delivery lags behind it. */
  publishMs: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDelivery: number;
  clientCpuUsPerDelivery: number;
}

export interface MemoryResult {
  connections: number;
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  heapUsedBytes: number;
  rssBytes: number;
}

export interface StormResult {
  clients: number;
  /** Clients whose subscription was confirmed again before the phase's time limit. */
  resumed: number;
  /** From the start of the restart until half of the clients had resubscribed. */
  resumeP50Ms: number;
  /** Until the last client resubscribed; only meaningful when `resumed === clients`. */
  resumeMs: number;
  restartMs: number;
  published: number;
  /** Ticks missed by clients that resubscribed. */
  lost: number;
  /** Ticks missed by clients that had not resubscribed when the phase ended. */
  lostByNotResumed: number;
  duplicated: number;
  gaps: number;
  /** Reconnect attempts the clients started, where they report them (Duplex). */
  reconnectAttempts: number;
  /** The restarted server's own counters at the end of the storm (Duplex's metrics). */
  serverCounters: Record<string, number> | null;
  /** Whether the contestant replays missed events on resubscribe. */
  replays: boolean;
}

export interface ConnectResult {
  /** Subscribed connections once this step was done. */
  subscribers: number;
  /** New connections opened and subscribed per second in this step. */
  perSecond: number;
}

export interface ContestantResult {
  contestant: Contestant;
  roundTrip: RoundTripResult[];
  connect: ConnectResult[];
  fanout: FanoutResult[];
  memory: MemoryResult | null;
  storm: StormResult | null;
  errors: string[];
}

export interface Processes {
  server: IpcClient<ServerHandlers>;
  loadgens: IpcClient<LoadgenHandlers>[];
  /**
   * Pins the server and the first load generator to one CPU for the latency rows
   * (`--pin-latency`), and back to every CPU after; absent when not asked for.
   */
  pinLatency?: (pinned: boolean) => void;
}

/** Splits `total` into `parts` near-equal shares. */
const shares = (total: number, parts: number) =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

export async function roundTrip(
  p: Processes,
  config: BenchConfig,
  opts: {
    procedure: BenchProcedure;
    payloadBytes: number;
    /** Profiles the server over the 1 × 64 run and writes the profile here. */
    profileFile?: string;
  },
): Promise<RoundTripResult> {
  const { procedure, payloadBytes } = opts;
  const [first] = p.loadgens;
  p.pinLatency?.(true);
  const { coldP50 } = await first!.call('latencyWarmup', {
    procedure,
    payloadBytes,
    warmup: config.latencyWarmup,
    warmupMs: config.latencyWarmupMs,
    coldCalls,
  });
  await p.server.call('markCpu');
  const latency = await first!.call('latencyTimed', { calls: config.latencyCalls });
  const latencyServerCpuMs = await p.server.call('cpuSinceMark');
  p.pinLatency?.(false);
  const run = {
    procedure,
    payloadBytes,
    warmupMs: config.throughputWarmupMs,
    durationMs: config.throughputMs,
    windows: config.throughputWindows,
  };
  if (opts.profileFile) await p.server.call('startProfile');
  await p.server.call('markCpu');
  const single = await first!.call('throughput', { ...run, connections: 1, inFlight: 64 });
  const singleCpuMs = await p.server.call('cpuSinceMark');
  if (opts.profileFile) await p.server.call('stopProfile', { file: opts.profileFile });
  await p.server.call('markCpu');
  const many = await Promise.all(
    shares(50, p.loadgens.length).map((connections, i) =>
      p.loadgens[i]!.call('throughput', { ...run, connections, inFlight: 8 }),
    ),
  );
  const manyCpuMs = await p.server.call('cpuSinceMark');
  const manyCalls = many.reduce((sum, r) => sum + r.calls, 0);
  return {
    procedure,
    payloadBytes,
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    coldP50Ms: coldP50,
    serverCpuUsPerCall1x1: (latencyServerCpuMs * 1000) / latency.calls,
    clientCpuUsPerCall1x1: latency.clientCpuUsPerCall,
    callsPerSecond1x64: single.callsPerSecond,
    callsPerSecond50x8: many.reduce((sum, r) => sum + r.callsPerSecond, 0),
    serverCpuUsPerCall1x64: (singleCpuMs * 1000) / single.calls,
    serverCpuUsPerCall50x8: (manyCpuMs * 1000) / manyCalls,
  };
}

export async function addSubscribers(p: Processes, config: BenchConfig, count: number) {
  await Promise.all(
    shares(count, p.loadgens.length).map((n, i) =>
      p.loadgens[i]!.call('addSubscribers', { count: n, batch: config.connectBatch }),
    ),
  );
}

/** Polls `probe` until `done` or until it stops making progress for `stallMs` (or the cap). */
async function waitFor<T>(opts: {
  probe: () => Promise<T>;
  done: (value: T) => boolean;
  progress: (value: T) => number;
  stallMs: number;
  capMs: number;
}): Promise<T> {
  const started = performance.now();
  let value = await opts.probe();
  let last = opts.progress(value);
  let lastChange = performance.now();
  while (!opts.done(value) && performance.now() - started < opts.capMs) {
    await sleep(50);
    value = await opts.probe();
    const now = opts.progress(value);
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > opts.stallMs) break;
  }
  return value;
}

export async function fanout(
  p: Processes,
  config: BenchConfig,
  subscribers: number,
): Promise<FanoutResult> {
  await Promise.all(p.loadgens.map((l) => l.call('armFanout')));
  const expected = subscribers * config.fanoutEvents;
  const burst = await p.server.call('burst', { count: config.fanoutEvents });
  await waitFor({
    probe: () => Promise.all(p.loadgens.map((l) => l.call('fanoutProgress'))),
    done: (all) => all.reduce((sum, r) => sum + r.delivered, 0) >= expected,
    progress: (all) => all.reduce((sum, r) => sum + r.delivered, 0),
    stallMs: 10_000,
    capMs: config.phaseTimeoutMs,
  });
  const serverCpuMs = await p.server.call('cpuSinceMark');
  const results = await Promise.all(p.loadgens.map((l) => l.call('fanoutResult')));
  const delivered = results.reduce((sum, r) => sum + r.delivered, 0);
  const lastAt = Math.max(...results.map((r) => r.lastAt));
  const latencies = results.flatMap((r) => r.latencies);
  const clientCpuMs = results.reduce((sum, r) => sum + r.cpuMs, 0);
  return {
    subscribers,
    events: config.fanoutEvents,
    expected,
    delivered,
    gaps: results.reduce((sum, r) => sum + r.gaps, 0),
    deliveriesPerSecond: delivered / ((lastAt - burst.startedAt) / 1000),
    publishMs: burst.publishedAt - burst.startedAt,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    serverCpuUsPerDelivery: (serverCpuMs * 1000) / delivered,
    clientCpuUsPerDelivery: (clientCpuMs * 1000) / delivered,
  };
}

/** Server memory above `baseline` per open, subscribed, idle connection, after gc. */
export async function memory(
  p: Processes,
  baseline: { rss: number; heapUsed: number },
  connections: number,
): Promise<MemoryResult> {
  const now = await p.server.call('memory');
  return {
    connections,
    rssBytesPerConnection: (now.rss - baseline.rss) / connections,
    heapBytesPerConnection: (now.heapUsed - baseline.heapUsed) / connections,
    heapUsedBytes: now.heapUsed,
    rssBytes: now.rss,
  };
}

/**
 * Every subscriber holds a live stream that ticks every `stormTickMs`; the server closes every
 * socket and listens again; measures the time until every client has resubscribed, and which
 * ticks each client missed or saw twice between the first tick and the last.
 */
export async function storm(
  p: Processes,
  config: BenchConfig,
  contestant: Contestant,
  clients: number,
): Promise<StormResult> {
  await Promise.all(p.loadgens.map((l) => l.call('armStorm')));
  const firstSeq = await p.server.call('startTicker', { intervalMs: config.stormTickMs });
  await sleep(config.stormTickMs * 2 + 200);
  const restart = await p.server.call('restart');
  const progress = () =>
    Promise.all(p.loadgens.map((l) => l.call('stormProgress', { lastSeq: null })));
  await waitFor({
    probe: progress,
    done: (all) => all.reduce((sum, r) => sum + r.resumed, 0) >= clients,
    progress: (all) => all.reduce((sum, r) => sum + r.resumed, 0),
    // Stock tRPC's backoff doubles up to 30 s: a client may be silent that long and still resume.
    stallMs: 35_000,
    capMs: config.phaseTimeoutMs,
  });
  await sleep(config.stormTickMs * 2 + 200);
  const lastSeq = await p.server.call('stopTicker');
  await waitFor({
    probe: () => Promise.all(p.loadgens.map((l) => l.call('stormProgress', { lastSeq }))),
    done: (all) => all.reduce((sum, r) => sum + r.caughtUp, 0) >= clients,
    progress: (all) => all.reduce((sum, r) => sum + r.caughtUp, 0),
    stallMs: 5_000,
    capMs: config.phaseTimeoutMs,
  });
  const results = await Promise.all(
    p.loadgens.map((l) => l.call('stormResult', { firstSeq, lastSeq })),
  );
  const resumeTimes = results.flatMap((r) => r.resumedAt.map((at) => at - restart.startedAt));
  const sum = (pick: (r: (typeof results)[number]) => number) =>
    results.reduce((total, r) => total + pick(r), 0);
  return {
    clients,
    resumed: resumeTimes.length,
    resumeP50Ms: resumeTimes.sort((a, b) => a - b)[Math.ceil(clients / 2) - 1] ?? Number.NaN,
    resumeMs: resumeTimes.length > 0 ? Math.max(...resumeTimes) : Number.NaN,
    restartMs: restart.listeningAt - restart.startedAt,
    published: lastSeq - firstSeq + 1,
    lost: sum((r) => r.lost),
    lostByNotResumed: sum((r) => r.lostByNotResumed),
    duplicated: sum((r) => r.duplicated),
    gaps: sum((r) => r.gaps),
    reconnectAttempts: sum((r) => r.attempts),
    serverCounters: await p.server.call('counters'),
    replays: contestant === 'duplex',
  };
}
