import {
  type Broker,
  createMemoryBroker,
  type DuplexConnectionInfo,
  type DuplexErrorReport,
  type DuplexNodeStats,
} from '@duplex/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdminHub } from './adminHub';
import { adminReportsChannel, resolveAdminOptions } from './adminOptions';
import type { NodeReport } from './adminTypes';

const reportIntervalMs = 1_000;

function statsOf(nodeId: string, at: number): DuplexNodeStats {
  return {
    nodeId,
    at,
    startedAt: 0,
    connections: { websocket: 1, http: 0 },
    usersOnline: 1,
    subscriptions: 0,
    calls: 0,
    events: 0,
    closesByCode: {},
    errorsByCode: {},
    eventLoopDelayMs: { p50: 0, p99: 0, max: 0 },
    memory: { heapUsedBytes: 0, rssBytes: 0 },
    cpuSeconds: 0,
    procedures: [{ path: 'a', type: 'query', calls: 1, errors: {}, buckets: [1], sumSeconds: 0 }],
    channels: [],
    broker: { kind: 'memory', state: 'ready', outages: 0, publishBuckets: null },
  };
}

function connection(nodeId: string, id: string, userId: string, bufferedBytes: number) {
  return {
    id,
    nodeId,
    userId,
    transport: 'websocket',
    remoteAddress: '127.0.0.1',
    openedAt: Number(id.replace(/\D/g, '')),
    subscriptions: 0,
    bufferedBytes,
    calls: 0,
  } satisfies DuplexConnectionInfo;
}

function reportOf(nodeId: string, connections: DuplexConnectionInfo[] = []): NodeReport {
  return {
    stats: statsOf(nodeId, Date.now()),
    connections,
    connectionCount: connections.length,
    presence: null,
  };
}

/** Lets the broker's stream hand its queued items to the hub. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('AdminHub', () => {
  let broker: Broker;
  const errors: DuplexErrorReport<never>[] = [];
  const hubOn = (b: Broker, historyMs = 5_000) =>
    new AdminHub(
      resolveAdminOptions({
        authorize: () => true,
        broker: b,
        reportIntervalMs,
        historyMs,
        onError: (report) => errors.push(report),
      }),
    );

  beforeEach(() => {
    vi.useFakeTimers();
    broker = createMemoryBroker();
    errors.length = 0;
  });
  afterEach(async () => {
    await broker.close();
    vi.useRealTimers();
  });

  it('drops a node once it has been silent for three report intervals, not before', async () => {
    const hub = hubOn(broker);
    const release = hub.retain();
    await hub.ready;
    await broker.publish(adminReportsChannel, reportOf('b'), { ephemeral: true });
    await broker.publish(adminReportsChannel, reportOf('a'), { ephemeral: true });
    await flush();
    expect(hub.overview(false).nodes.map((n) => n.nodeId)).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(2_500);
    await broker.publish(adminReportsChannel, reportOf('a'), { ephemeral: true });
    await vi.advanceTimersByTimeAsync(500);
    expect(hub.overview(false).nodes.map((n) => n.nodeId)).toEqual(['a', 'b']);
    const version = hub.currentVersion;
    // b was last heard at 0: gone at the first tick after 3,000 ms.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(hub.overview(false).nodes.map((n) => n.nodeId)).toEqual(['a']);
    expect(hub.currentVersion).toBeGreaterThan(version);
    release();
  });

  it('keeps a bounded history of slim stats, one entry per interval', async () => {
    const hub = hubOn(broker, 3_000);
    const release = hub.retain();
    await hub.ready;
    for (let i = 0; i < 6; i++) {
      await broker.publish(adminReportsChannel, reportOf('a'), { ephemeral: true });
      await vi.advanceTimersByTimeAsync(reportIntervalMs);
    }
    const { history, nodes } = hub.overview(true);
    expect(history).toHaveLength(3);
    expect(history.map((h) => h.at)).toEqual(
      [4_000, 5_000, 6_000].map((ms) => ms + history[0]!.at - 4_000),
    );
    expect(history.every((h) => h.nodes[0]!.procedures.length === 0)).toBe(true);
    expect(nodes[0]!.procedures).toHaveLength(1);
    expect(hub.overview(false).history).toEqual([]);
    release();
  });

  it('lists connections across nodes, most buffered then newest, filtered and limited', async () => {
    const hub = hubOn(broker);
    const release = hub.retain();
    await hub.ready;
    await broker.publish(
      adminReportsChannel,
      reportOf('a', [connection('a', 'c1', 'ann', 0), connection('a', 'c2', 'ben', 50)]),
      { ephemeral: true },
    );
    await broker.publish(
      adminReportsChannel,
      reportOf('b', [connection('b', 'c3', 'ann', 0), connection('b', 'c4', 'ann', 10)]),
      { ephemeral: true },
    );
    await flush();
    const all = hub.connections({ limit: 3 });
    expect(all.total).toBe(4);
    expect(all.connections.map((c) => c.id)).toEqual(['c2', 'c4', 'c3']);
    expect(hub.connections({ userId: 'ann', limit: 10 }).connections.map((c) => c.id)).toEqual([
      'c4',
      'c3',
      'c1',
    ]);
    release();
  });

  it("passes on each node's presence read and its snapshot times, an older node's as none", async () => {
    const hub = hubOn(broker);
    const release = hub.retain();
    await hub.ready;
    const read = {
      nodeId: 'a',
      at: 5,
      channels: [{ channel: 'room:1', count: 1, members: [{ id: 'ada', name: 'Ada' }] }],
    };
    await broker.publish(
      adminReportsChannel,
      { ...reportOf('a'), presence: read },
      {
        ephemeral: true,
      },
    );
    // A node of a version before presence: no `presence` field at all.
    const { presence: _, ...older } = reportOf('b');
    await broker.publish(adminReportsChannel, older, { ephemeral: true });
    await flush();
    expect(hub.overview(false).presence).toEqual([read]);
    const { nodes } = hub.connections({ limit: 10 });
    expect(nodes.map((n) => n.nodeId)).toEqual(['a', 'b']);
    expect(nodes.every((n) => n.at === Date.now())).toBe(true);
    release();
  });

  it('stops listening after the last release and forgets the nodes', async () => {
    const hub = hubOn(broker);
    const first = hub.retain();
    const second = hub.retain();
    await hub.ready;
    first();
    await broker.publish(adminReportsChannel, reportOf('a'), { ephemeral: true });
    await flush();
    expect(hub.overview(false).nodes).toHaveLength(1);
    second();
    second();
    expect(hub.overview(false).nodes).toHaveLength(0);
    await broker.publish(adminReportsChannel, reportOf('a'), { ephemeral: true });
    await flush();
    expect(hub.overview(false).nodes).toHaveLength(0);
  });

  it('reports a failing subscription once, retrying every interval until it works', async () => {
    let failures = 0;
    const failing: Broker = {
      ...broker,
      publish: broker.publish.bind(broker),
      headEventId: broker.headEventId.bind(broker),
      close: broker.close.bind(broker),
      subscribe: (channel, opts) => {
        if (failures++ < 3) throw new Error('Redis unavailable');
        return broker.subscribe(channel, opts);
      },
    };
    const hub = hubOn(failing);
    const release = hub.retain();
    await vi.advanceTimersByTimeAsync(3 * reportIntervalMs + 10);
    expect(failures).toBe(4);
    expect(errors.map((e) => [e.source, e.task, (e.error as Error).message])).toEqual([
      ['background', 'admin.reports', 'Redis unavailable'],
    ]);
    await broker.publish(adminReportsChannel, reportOf('a'), { ephemeral: true });
    await flush();
    expect(hub.overview(false).nodes).toHaveLength(1);
    release();
  });
});
