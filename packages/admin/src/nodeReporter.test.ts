import {
  type Broker,
  createMemoryBroker,
  type DuplexErrorReport,
  type DuplexInspector,
} from '@duplex/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AdminAuditEntry,
  adminCommandsChannel,
  adminReportsChannel,
  resolveAdminOptions,
} from './adminOptions';
import type { NodeReport } from './adminTypes';
import { NodeReporter } from './nodeReporter';

/** An inspector of a node with no connections that records what it was asked to close. */
function recordingInspector(nodeId: string) {
  const closed: string[] = [];
  const inspector: DuplexInspector = {
    nodeId,
    stats: () =>
      ({ nodeId, at: Date.now(), connections: { websocket: 2, http: 1 } }) as ReturnType<
        DuplexInspector['stats']
      >,
    connections: () => [],
    disconnect: (id, opts) => {
      closed.push(`${id} by ${opts?.by}`);
      return true;
    },
    disconnectUser: (userId, opts) => {
      closed.push(`user ${userId} by ${opts?.by}`);
      return 2;
    },
  };
  return { inspector, closed };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('NodeReporter', () => {
  let broker: Broker;
  const errors: DuplexErrorReport<never>[] = [];
  const audits: AdminAuditEntry[] = [];
  const optionsOn = (b: Broker) =>
    resolveAdminOptions({
      authorize: () => true,
      broker: b,
      reportIntervalMs: 1_000,
      onError: (report) => errors.push(report),
      audit: (entry) => audits.push(entry),
    });

  beforeEach(() => {
    vi.useFakeTimers();
    broker = createMemoryBroker();
    errors.length = 0;
    audits.length = 0;
  });
  afterEach(async () => {
    await broker.close();
    vi.useRealTimers();
  });

  it('publishes a report at once and every interval, ephemeral, until stopped', async () => {
    const reports: NodeReport[] = [];
    const stream = broker.subscribe<NodeReport>(adminReportsChannel);
    void (async () => {
      for await (const item of stream) if (item.type === 'event') reports.push(item.data);
    })();
    const { inspector } = recordingInspector('n1');
    const reporter = new NodeReporter(inspector, optionsOn(broker), 'admin-1');
    reporter.start(Promise.resolve());
    await flush();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ stats: { nodeId: 'n1' }, connectionCount: 3 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(reports).toHaveLength(3);
    reporter.stop();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(reports).toHaveLength(3);
    // Ephemeral: nothing retained to replay.
    expect(await broker.headEventId(adminReportsChannel)).toBe(null);
  });

  it("applies other admins' commands with the operator's id, skips its own, audits what closed", async () => {
    const { inspector, closed } = recordingInspector('n1');
    const reporter = new NodeReporter(inspector, optionsOn(broker), 'admin-1');
    reporter.start(Promise.resolve());
    await flush();
    const send = (data: unknown) => broker.publish(adminCommandsChannel, data, { ephemeral: true });
    await send({ type: 'disconnect', connectionId: 'c1', by: 'root', from: 'admin-2' });
    await send({ type: 'disconnectUser', userId: 'ann', by: 'root', from: 'admin-2' });
    await send({ type: 'disconnect', connectionId: 'c2', by: 'root', from: 'admin-1' });
    await flush();
    expect(closed).toEqual(['c1 by root', 'user ann by root']);
    expect(audits.map((a) => [a.phase, a.nodeId, a.closed, a.command.type])).toEqual([
      ['applied', 'n1', 1, 'disconnect'],
      ['applied', 'n1', 2, 'disconnectUser'],
    ]);
    // A malformed command is reported and the node keeps listening.
    await send({ type: 'shutdown', from: 'admin-2' });
    await send({ type: 'disconnect', connectionId: 'c3', by: 'root', from: 'admin-2' });
    await flush();
    expect(errors.map((e) => e.task)).toEqual(['admin.commands']);
    expect(closed).toEqual(['c1 by root', 'user ann by root', 'c3 by root']);
    reporter.stop();
  });

  it('reports failing publishes once until one succeeds', async () => {
    let failing = true;
    const flaky: Broker = {
      subscribe: broker.subscribe.bind(broker),
      headEventId: broker.headEventId.bind(broker),
      close: broker.close.bind(broker),
      publish: (channel, data, opts) =>
        failing ? Promise.reject(new Error('Redis down')) : broker.publish(channel, data, opts),
    };
    const reporter = new NodeReporter(recordingInspector('n1').inspector, optionsOn(flaky), 'a');
    reporter.start(Promise.resolve());
    await vi.advanceTimersByTimeAsync(3_000);
    expect(errors.map((e) => [e.task, (e.error as Error).message])).toEqual([
      ['admin.report', 'Redis down'],
    ]);
    failing = false;
    await vi.advanceTimersByTimeAsync(1_000);
    failing = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(errors).toHaveLength(2);
    reporter.stop();
  });
});
