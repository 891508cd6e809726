/**
 * Figures the page shows, derived from the frames. Counters in the frames are monotonic totals
 * per node: rates come from two consecutive samples of the same node, percentiles from the
 * bucket deltas over the window, and a cluster figure is the sum over its nodes.
 */
import type { DuplexNodeStats, DuplexProcedureStats } from '@duplex/server';
import type { ChannelPresence, ConnectionsFrame, NodePresence } from '../adminTypes';

/** `procedureBucketsSeconds` of `@duplex/server`, copied so that no server code is bundled. */
export const bucketBoundsSeconds = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** One moment: every live node's figures. */
export interface Sample {
  readonly at: number;
  readonly nodes: readonly DuplexNodeStats[];
  /** Each node's latest presence read (live frames only; history carries none). */
  readonly presence?: readonly NodePresence[];
}

/** The nodes a view covers: all of them, or the one selected. */
export const pick = (nodes: readonly DuplexNodeStats[], nodeId: string | null) =>
  nodeId === null ? nodes : nodes.filter((n) => n.nodeId === nodeId);

export const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Connections of a node, both transports. */
export const connectionsOf = (n: DuplexNodeStats) => n.connections.websocket + n.connections.http;

/** A counter's per-second rate from `before` at `fromMs` to `after` at `toMs`, or `null` when it went back. */
export function perSecond(before: number, after: number, fromMs: number, toMs: number) {
  if (toMs <= fromMs) return null;
  const delta = after - before;
  return delta < 0 ? null : (delta * 1000) / (toMs - fromMs);
}

/**
 * The per-second rate of a counter between a node's two snapshots, or `null` when it cannot be
 * told (no earlier snapshot, a restarted node whose counter went back).
 */
export function rateOf(
  prev: DuplexNodeStats | undefined,
  next: DuplexNodeStats,
  counter: (n: DuplexNodeStats) => number,
): number | null {
  if (!prev || prev.startedAt !== next.startedAt) return null;
  return perSecond(counter(prev), counter(next), prev.at, next.at);
}

/** A connection's call counter at its node's snapshot, with its calls/s since the one before. */
export interface ConnectionCalls {
  /** The node's snapshot time (epoch ms on that node). */
  readonly at: number;
  readonly calls: number;
  /** Calls per second since the node's snapshot before, or `null` before there are two. */
  readonly rate: number | null;
}

/**
 * Calls/s per connection, folded in from each `admin.connections` frame. Counts come from the
 * node's snapshots, so a rate is measured between two of them (on that node's clock); a frame
 * that repeats a snapshot (another node reported) keeps the rate it had. Connections gone from
 * the frame are forgotten.
 */
export function nextConnectionCalls(
  prev: ReadonlyMap<string, ConnectionCalls>,
  frame: ConnectionsFrame,
): Map<string, ConnectionCalls> {
  const nodeAt = new Map((frame.nodes ?? []).map((n) => [n.nodeId, n.at]));
  const next = new Map<string, ConnectionCalls>();
  for (const c of frame.connections) {
    const at = nodeAt.get(c.nodeId) ?? frame.at;
    const old = prev.get(c.id);
    if (old && old.at === at) {
      next.set(c.id, old);
      continue;
    }
    const rate = old ? perSecond(old.calls, c.calls, old.at, at) : null;
    next.set(c.id, { at, calls: c.calls, rate });
  }
  return next;
}

/** The node `nodeId` in a sample. */
export const nodeIn = (sample: Sample | undefined, nodeId: string) =>
  sample?.nodes.find((n) => n.nodeId === nodeId);

/**
 * The node's latest snapshot before `node` in `samples[0..index)`. A node whose report is late
 * appears in two samples with the same snapshot, so the one before is found by its own `at`.
 */
export function previousOf(
  samples: readonly Sample[],
  index: number,
  node: DuplexNodeStats,
): DuplexNodeStats | undefined {
  for (let i = Math.min(index, samples.length) - 1; i >= 0; i--) {
    const found = nodeIn(samples[i], node.nodeId);
    if (found && found.at < node.at) return found;
  }
  return undefined;
}

/** A counter's per-second rate at `samples[index]`, summed over the selected nodes. */
export function totalRate(
  samples: readonly Sample[],
  index: number,
  nodeId: string | null,
  counter: (n: DuplexNodeStats) => number,
): number | null {
  const sample = samples[index];
  if (!sample) return null;
  const rates = pick(sample.nodes, nodeId).map((n) =>
    rateOf(previousOf(samples, index, n), n, counter),
  );
  const known = rates.filter((r): r is number => r !== null);
  return known.length === 0 ? null : sum(known);
}

/** Adds counts by key (`{ '4403': 2 }`). */
export function addCounts(
  into: Record<string, number>,
  counts: Readonly<Record<string, number>>,
  sign = 1,
) {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + sign * value;
  return into;
}

/**
 * A counter's increase per key over the window, summed over the selected nodes: the newest
 * snapshot of each node less its oldest in the window (all of it for a node that started
 * inside the window).
 */
export function windowCounts(
  samples: readonly Sample[],
  nodeId: string | null,
  counts: (n: DuplexNodeStats) => Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  const first = samples[0];
  const last = samples.at(-1);
  if (!last) return out;
  for (const node of pick(last.nodes, nodeId)) {
    addCounts(out, counts(node));
    const base = oldestOf(samples, node);
    if (base && base !== node && first && node.startedAt < first.at)
      addCounts(out, counts(base), -1);
  }
  for (const key of Object.keys(out)) if (out[key] === 0) delete out[key];
  return out;
}

/**
 * The oldest snapshot in the window of the same node (same id, same start), and with `full`,
 * the oldest with its procedures and channels (history entries carry none).
 */
export function oldestOf(samples: readonly Sample[], node: DuplexNodeStats, full = false) {
  for (const sample of samples) {
    const found = nodeIn(sample, node.nodeId);
    if (found && found.startedAt === node.startedAt) {
      if (!full || found.procedures.length > 0 || found === node) return found;
    }
  }
  return undefined;
}

/** A latency quantile (seconds) from non-cumulative bucket counts, interpolated in its bucket. */
export function quantileOf(buckets: readonly number[], q: number): number | null {
  const total = sum(buckets);
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i] ?? 0;
    if (count > 0 && seen + count >= rank) {
      const upper = bucketBoundsSeconds[i];
      // Past the last bound: all that can be said is "more than 10 s".
      if (upper === undefined) return bucketBoundsSeconds.at(-1)!;
      const lower = i === 0 ? 0 : bucketBoundsSeconds[i - 1]!;
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return bucketBoundsSeconds.at(-1)!;
}

const diffBuckets = (a: readonly number[], b: readonly number[] | undefined) =>
  a.map((v, i) => v - (b?.[i] ?? 0));
const addBuckets = (a: number[], b: readonly number[]) => {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return a;
};

/** One procedure path's figures over the selected nodes. */
export interface ProcedureRow {
  path: string;
  type: DuplexProcedureStats['type'];
  /** Calls since the nodes started (sum of their totals). */
  calls: number;
  /** Calls per second over the window. */
  rate: number | null;
  errors: number;
  errorsByCode: Record<string, number>;
  /** Over the window (seconds); since the nodes started when the window has no calls. */
  p50: number | null;
  p99: number | null;
  /** The percentiles cover every call since the nodes started, not the window. */
  sinceStart: boolean;
}

/** Per-path figures: totals from the newest sample, rates and percentiles over the window. */
export function procedureRows(samples: readonly Sample[], nodeId: string | null): ProcedureRow[] {
  const last = samples.at(-1);
  const first = samples[0];
  if (!last) return [];
  const rows = new Map<
    string,
    ProcedureRow & { buckets: number[]; allBuckets: number[]; windowCalls: number }
  >();
  let spanMs = 0;
  for (const node of pick(last.nodes, nodeId)) {
    const base = oldestOf(samples, node, true);
    const baseFromStart = !first || node.startedAt >= first.at || base === node;
    spanMs = Math.max(spanMs, node.at - (baseFromStart ? node.startedAt : (base?.at ?? node.at)));
    for (const proc of node.procedures) {
      const before = baseFromStart
        ? undefined
        : base?.procedures.find((p) => p.path === proc.path && p.type === proc.type);
      const row = rows.get(proc.path) ?? {
        path: proc.path,
        type: proc.type,
        calls: 0,
        rate: null,
        errors: 0,
        errorsByCode: {},
        p50: null,
        p99: null,
        sinceStart: false,
        buckets: [],
        allBuckets: [],
        windowCalls: 0,
      };
      row.calls += proc.calls;
      addCounts(row.errorsByCode, proc.errors);
      row.windowCalls += proc.calls - (before?.calls ?? 0);
      addBuckets(row.buckets, diffBuckets(proc.buckets, before?.buckets));
      addBuckets(row.allBuckets, proc.buckets);
      rows.set(proc.path, row);
    }
  }
  return [...rows.values()]
    .map(({ buckets, allBuckets, windowCalls, ...row }) => {
      // A path idle in the window still shows how it did: over all its calls.
      const sinceStart = sum(buckets) === 0;
      const used = sinceStart ? allBuckets : buckets;
      return {
        ...row,
        errors: sum(Object.values(row.errorsByCode)),
        rate: spanMs > 0 ? (windowCalls * 1000) / spanMs : null,
        p50: quantileOf(used, 0.5),
        p99: quantileOf(used, 0.99),
        sinceStart,
      };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** One channel's figures over the selected nodes. */
export interface ChannelRow {
  channel: string;
  subscribers: number;
  /** Events published through the selected nodes, per second, between the last two samples. */
  rate: number | null;
  retained: number | null;
  lastEventId: string | null;
  /** Who is present on it, from the newest read of any node, or `null` when none read it. */
  present: ChannelPresence | null;
}

/**
 * Presence by channel from the newest read that covers it. Presence is cluster-wide (every node
 * reads the same members), so nodes are not added up; and it does not depend on the node
 * selected.
 */
export function presenceByChannel(
  reads: readonly NodePresence[] = [],
): Map<string, ChannelPresence> {
  const newest = new Map<string, { at: number; present: ChannelPresence }>();
  for (const read of reads) {
    for (const present of read.channels) {
      const seen = newest.get(present.channel);
      if (!seen || read.at > seen.at) newest.set(present.channel, { at: read.at, present });
    }
  }
  return new Map([...newest].map(([channel, { present }]) => [channel, present]));
}

/** Channels merged across the selected nodes. */
export function channelRows(samples: readonly Sample[], nodeId: string | null): ChannelRow[] {
  const last = samples.at(-1);
  if (!last) return [];
  const present = presenceByChannel(last.presence);
  const rows = new Map<string, ChannelRow>();
  for (const node of pick(last.nodes, nodeId)) {
    const before = previousOf(samples, samples.length - 1, node);
    for (const ch of node.channels) {
      const row = rows.get(ch.channel) ?? {
        channel: ch.channel,
        subscribers: 0,
        rate: null,
        retained: null,
        lastEventId: null,
        present: present.get(ch.channel) ?? null,
      };
      row.subscribers += ch.subscribers;
      const old = before?.channels.find((c) => c.channel === ch.channel);
      const published = (n: DuplexNodeStats) =>
        n.channels.find((c) => c.channel === ch.channel)?.published ?? 0;
      const rate = old ? rateOf(before, node, published) : null;
      if (typeof rate === 'number') row.rate = (row.rate ?? 0) + rate;
      if (ch.retained !== null) row.retained = Math.max(row.retained ?? 0, ch.retained);
      row.lastEventId ??= ch.lastEventId;
      rows.set(ch.channel, row);
    }
  }
  return [...rows.values()].sort(
    (a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel),
  );
}

/** Formats a count: `1,234`. */
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Formats a rate: `12.3`, `0.25`, `1,234`. */
export function fmtRate(n: number | null) {
  if (n === null) return '–';
  if (n >= 100) return fmtInt(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: n >= 10 ? 1 : 2 });
}

/** Formats seconds as a latency: `0.42 ms`, `12 ms`, `1.2 s`. */
export function fmtSeconds(s: number | null) {
  if (s === null) return '–';
  if (s >= 1) return `${s.toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;
  const ms = s * 1000;
  return `${ms.toLocaleString('en-US', { maximumFractionDigits: ms >= 10 ? 0 : 2 })} ms`;
}

/** Formats bytes: `512 B`, `12.5 KiB`, `143 MiB`. */
export function fmtBytes(n: number) {
  if (n < 1024) return `${fmtInt(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toLocaleString('en-US', { maximumFractionDigits: value >= 100 ? 0 : 1 })} ${units[unit]}`;
}

/** Formats a duration: `42 s`, `5 min`, `3 h 12 min`, `2 d 4 h`. */
export function fmtAge(ms: number) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * A node's id as shown: `host:pid:rand` with the random tail cut to 4 characters, enough to tell
 * apart two nodes of one process (a restart in tests) or of one pid on two hosts.
 */
export function shortNode(nodeId: string) {
  const parts = nodeId.split(':');
  return parts.length === 3 ? `${parts[0]}:${parts[1]}:${parts[2]!.slice(0, 4)}` : nodeId;
}
