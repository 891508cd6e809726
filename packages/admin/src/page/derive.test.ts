import type { DuplexConnectionInfo, DuplexNodeStats, DuplexProcedureStats } from '@duplex/server';
import { procedureBucketsSeconds } from '@duplex/server';
import { describe, expect, it } from 'vitest';
import type { ConnectionsFrame } from '../adminTypes';
import {
  bucketBoundsSeconds,
  channelRows,
  nextConnectionCalls,
  procedureRows,
  quantileOf,
  type Sample,
  totalRate,
  windowCounts,
} from './derive';

const buckets = (counts: Record<number, number>) =>
  Array.from({ length: bucketBoundsSeconds.length + 1 }, (_, i) => counts[i] ?? 0);

function proc(path: string, calls: number, counts: Record<number, number>): DuplexProcedureStats {
  return { path, type: 'query', calls, errors: {}, buckets: buckets(counts), sumSeconds: 0 };
}

function node(nodeId: string, at: number, fields: Partial<DuplexNodeStats> = {}): DuplexNodeStats {
  return {
    nodeId,
    at,
    startedAt: 0,
    connections: { websocket: 0, http: 0 },
    usersOnline: 0,
    subscriptions: 0,
    calls: 0,
    events: 0,
    closesByCode: {},
    errorsByCode: {},
    eventLoopDelayMs: { p50: 0, p99: 0, max: 0 },
    memory: { heapUsedBytes: 0, rssBytes: 0 },
    cpuSeconds: 0,
    procedures: [],
    channels: [],
    broker: { kind: 'memory', state: 'ready', outages: 0, publishBuckets: null },
    ...fields,
  };
}

describe('derive', () => {
  it("copies the server's latency bucket bounds", () => {
    expect(bucketBoundsSeconds).toEqual(procedureBucketsSeconds);
  });

  it('interpolates a quantile inside its bucket, and caps the last at its bound', () => {
    // 10 calls in (1 ms, 2.5 ms]: the median is halfway through it.
    expect(quantileOf(buckets({ 2: 10 }), 0.5)).toBeCloseTo(0.00175);
    expect(quantileOf(buckets({ 0: 90, 7: 10 }), 0.99)).toBeCloseTo(0.05 + 0.05 * 0.9);
    expect(quantileOf(buckets({ 14: 3 }), 0.5)).toBe(10);
    expect(quantileOf(buckets({}), 0.5)).toBeNull();
  });

  it("derives a rate from each node's own snapshot times, summed over nodes", () => {
    const samples: Sample[] = [
      { at: 1000, nodes: [node('a', 1000, { calls: 10 }), node('b', 900, { calls: 0 })] },
      // b's report is late: the same snapshot again, so its rate comes from the one before.
      { at: 2000, nodes: [node('a', 2000, { calls: 30 }), node('b', 900, { calls: 0 })] },
      { at: 3000, nodes: [node('a', 3000, { calls: 30 }), node('b', 2900, { calls: 40 })] },
    ];
    expect(totalRate(samples, 1, null, (n) => n.calls)).toBe(20);
    expect(totalRate(samples, 2, null, (n) => n.calls)).toBe(0 + 20);
    expect(totalRate(samples, 2, 'b', (n) => n.calls)).toBe(20);
    expect(totalRate(samples, 0, null, (n) => n.calls)).toBeNull();
  });

  it('gives no rate across a restart, where the counter went back', () => {
    const samples: Sample[] = [
      { at: 1000, nodes: [node('a', 1000, { calls: 100 })] },
      { at: 2000, nodes: [node('a', 2000, { calls: 5, startedAt: 1500 })] },
    ];
    expect(totalRate(samples, 1, null, (n) => n.calls)).toBeNull();
  });

  it('counts closes in the window, all of them for a node that started inside it', () => {
    const samples: Sample[] = [
      { at: 1000, nodes: [node('a', 1000, { closesByCode: { '4403': 2 } })] },
      {
        at: 2000,
        nodes: [
          node('a', 2000, { closesByCode: { '4403': 5, '1006': 1 } }),
          node('b', 2000, { startedAt: 1500, closesByCode: { '4403': 1 } }),
        ],
      },
    ];
    expect(windowCounts(samples, null, (n) => n.closesByCode)).toEqual({ '4403': 4, '1006': 1 });
    expect(windowCounts(samples, 'a', (n) => n.closesByCode)).toEqual({ '4403': 3, '1006': 1 });
  });

  it('takes percentiles over the window from the oldest snapshot that carries procedures', () => {
    const samples: Sample[] = [
      // History entries carry no procedures: not a baseline.
      { at: 1000, nodes: [node('a', 1000)] },
      { at: 2000, nodes: [node('a', 2000, { procedures: [proc('echo', 100, { 0: 100 })] })] },
      {
        at: 4000,
        nodes: [node('a', 4000, { procedures: [proc('echo', 110, { 0: 100, 7: 10 })] })],
      },
    ];
    const [echo] = procedureRows(samples, null);
    expect(echo).toMatchObject({ path: 'echo', calls: 110, rate: 5, sinceStart: false });
    // Only the window's 10 calls, all in (50 ms, 100 ms].
    expect(echo!.p50).toBeCloseTo(0.075);
  });

  it('falls back to every call since the start for a path idle in the window', () => {
    const samples: Sample[] = [
      { at: 2000, nodes: [node('a', 2000, { procedures: [proc('echo', 4, { 2: 4 })] })] },
      { at: 3000, nodes: [node('a', 3000, { procedures: [proc('echo', 4, { 2: 4 })] })] },
    ];
    const [echo] = procedureRows(samples, null);
    expect(echo).toMatchObject({ calls: 4, rate: 0, sinceStart: true });
    expect(echo!.p50).toBeCloseTo(0.00175);
  });

  it('merges channels across nodes with their publish rate', () => {
    const channel = (published: number, subscribers: number) => ({
      channel: 'room:1',
      subscribers,
      published,
      retained: null,
      lastEventId: `e${published}`,
    });
    const samples: Sample[] = [
      { at: 1000, nodes: [node('a', 1000, { channels: [channel(10, 2)] })] },
      {
        at: 2000,
        nodes: [
          node('a', 2000, { channels: [channel(14, 2)] }),
          node('b', 2000, { channels: [channel(0, 3)] }),
        ],
      },
    ];
    expect(channelRows(samples, null)).toEqual([
      {
        channel: 'room:1',
        subscribers: 5,
        rate: 4,
        retained: null,
        lastEventId: 'e14',
        present: null,
      },
    ]);
  });

  it("takes a channel's presence from the newest read of any node, never a sum", () => {
    const channel = { channel: 'room:1', subscribers: 1, published: 0, retained: null };
    const ada = { id: 'ada', name: 'Ada' };
    const ben = { id: 'ben', name: 'Ben' };
    const sample: Sample = {
      at: 2000,
      nodes: [
        node('a', 2000, { channels: [{ ...channel, lastEventId: null }] }),
        node('b', 2000, { channels: [{ ...channel, lastEventId: null }] }),
      ],
      presence: [
        { nodeId: 'a', at: 1900, channels: [{ channel: 'room:1', count: 1, members: [ada] }] },
        {
          nodeId: 'b',
          at: 1950,
          channels: [{ channel: 'room:1', count: 2, members: [ada, ben] }],
        },
      ],
    };
    const newest = { channel: 'room:1', count: 2, members: [ada, ben] };
    expect(channelRows([sample], null)[0]?.present).toEqual(newest);
    // Cluster-wide: one node selected still shows everyone present.
    expect(channelRows([sample], 'a')[0]?.present).toEqual(newest);
    expect(channelRows([{ ...sample, presence: [] }], null)[0]?.present).toBe(null);
  });

  it("derives each connection's calls/s between its node's snapshots, across frames", () => {
    const conn = (id: string, nodeId: string, calls: number) =>
      ({ id, nodeId, calls }) as DuplexConnectionInfo;
    const frame = (
      at: number,
      nodes: Record<string, number>,
      connections: DuplexConnectionInfo[],
    ): ConnectionsFrame => ({
      at,
      total: connections.length,
      connections,
      nodes: Object.entries(nodes).map(([nodeId, nodeAt]) => ({ nodeId, at: nodeAt })),
    });
    const rates = (calls: ReturnType<typeof nextConnectionCalls>) =>
      Object.fromEntries([...calls].map(([id, c]) => [id, c.rate]));
    let calls = nextConnectionCalls(
      new Map(),
      frame(1000, { a: 900, b: 950 }, [conn('c1', 'a', 10), conn('c2', 'b', 0)]),
    );
    expect(rates(calls)).toEqual({ c1: null, c2: null });
    // a's next snapshot (2 s on a's clock later); b's is the same one again: c2 is not 0/s.
    calls = nextConnectionCalls(
      calls,
      frame(2000, { a: 2900, b: 950 }, [conn('c1', 'a', 30), conn('c2', 'b', 0)]),
    );
    expect(rates(calls)).toEqual({ c1: 10, c2: null });
    calls = nextConnectionCalls(
      calls,
      frame(3000, { a: 2900, b: 1950 }, [
        conn('c1', 'a', 30),
        conn('c2', 'b', 5),
        conn('c3', 'b', 1),
      ]),
    );
    // c1 keeps its rate over a repeated snapshot; c3 is new.
    expect(rates(calls)).toEqual({ c1: 10, c2: 5, c3: null });
    // A closed connection is forgotten.
    calls = nextConnectionCalls(calls, frame(4000, { a: 3900 }, [conn('c1', 'a', 30)]));
    expect(rates(calls)).toEqual({ c1: 0 });
  });
});
