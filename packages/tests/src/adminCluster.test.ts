import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OverviewFrame } from '@duplex/admin';
import { createDuplexClient } from '@duplex/client';
import { redisAvailable, startTestRedis, type TestRedis } from '@duplex/redis/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AdminNodeRouter, startAdminNode } from './fixtures/adminClusterNode';

const reportIntervalMs = 200;
/**
 * The documented drop time is three report intervals of silence; on top of it a node is
 * dropped at the hub's next tick (one interval) and shown in the next frame (at most one a
 * second), plus scheduling slack on a busy machine.
 */
const dropDeadlineMs = 3 * reportIntervalMs + reportIntervalMs + 1_000 + 1_000;
/** Reports cross Redis every 200 ms and frames are ≥ 1 s apart: a few frames on a busy machine. */
const settle = { timeout: 15_000, interval: 50 };

/** Spawns a node process and resolves with where it listens. */
async function spawnNode(redisUrl: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@duplex/source',
      fileURLToPath(new URL('./fixtures/adminClusterNode.ts', import.meta.url)),
    ],
    {
      env: { ...process.env, REDIS_URL: redisUrl, REPORT_INTERVAL_MS: String(reportIntervalMs) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ port: number; nodeId: string }>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve(JSON.parse(line) as { port: number; nodeId: string });
    });
    child.once('exit', (code, signal) => reject(new Error(`node exited (${code ?? signal})`)));
  });
  return {
    ...ready,
    wsUrl: `ws://127.0.0.1:${ready.port}/trpc`,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.runIf(redisAvailable('admin cluster'))('admin dashboard across a Redis cluster', () => {
  let redis: TestRedis;
  const clients: { $close(): Promise<void> }[] = [];
  const connect = (url: string, token: string) => {
    const client = createDuplexClient<AdminNodeRouter>({
      url,
      token,
      reconnect: { delayMs: () => 20 },
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startTestRedis({ appendOnly: false });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.$close()));
    await redis?.[Symbol.asyncDispose]();
  });

  it('shows both nodes, closes a connection on the other node, and drops a killed node in time', async () => {
    const a = await startAdminNode({ redisUrl: redis.url, reportIntervalMs });
    const b = await spawnNode(redis.url);
    try {
      const operator = connect(a.wsUrl, 'admin:root');
      const frames: OverviewFrame[] = [];
      operator.admin.overview.subscribe(undefined, { onData: (frame) => frames.push(frame) });
      const nodeIdsOf = (frame: OverviewFrame | undefined) =>
        frame?.nodes.map((n) => n.nodeId) ?? [];
      await vi.waitFor(
        () => expect(nodeIdsOf(frames.at(-1))).toEqual([a.nodeId, b.nodeId].sort()),
        { timeout: 10_000 },
      );

      // A user on node B, disconnected by the operator on node A.
      const onB = connect(b.wsUrl, 'user:bea');
      const onA = connect(a.wsUrl, 'user:bea');
      const idOnB = await onB.connectionId.query();
      const idOnA = await onA.connectionId.query();
      expect(await operator.admin.disconnect.mutate({ connectionId: idOnB })).toEqual({
        sent: true,
        localClosed: 0,
      });
      await vi.waitFor(async () => expect(await onB.connectionId.query()).not.toBe(idOnB), {
        timeout: 5_000,
      });
      expect(await onA.connectionId.query()).toBe(idOnA);
      // The connections view lists both nodes' connections.
      const listed = await new Promise<string[]>((resolve) => {
        const sub = operator.admin.connections.subscribe(
          { userId: 'bea' },
          {
            onData: (frame) => {
              const nodes = new Set(frame.connections.map((c) => c.nodeId));
              if (nodes.size < 2) return;
              sub.unsubscribe();
              resolve([...nodes].sort());
            },
          },
        );
      });
      expect(listed).toEqual([a.nodeId, b.nodeId].sort());
      await onB.$close();

      const killedAt = Date.now();
      await b.kill();
      await vi.waitFor(() => expect(nodeIdsOf(frames.at(-1))).toEqual([a.nodeId]), {
        timeout: dropDeadlineMs,
        interval: 20,
      });
      const droppedAfterMs = Date.now() - killedAt;
      // Not sooner than three silent intervals (minus the one a report may be due in).
      expect(droppedAfterMs).toBeGreaterThanOrEqual(2 * reportIntervalMs);
      expect(droppedAfterMs).toBeLessThanOrEqual(dropDeadlineMs);
      expect(a.errors).toEqual([]);
    } finally {
      await b.kill();
      await a.close();
    }
  });

  it("shows a member on another node in the operator's frames, and drops them once their client closes", async () => {
    const a = await startAdminNode({ redisUrl: redis.url, reportIntervalMs, redisPresence: true });
    const b = await startAdminNode({ redisUrl: redis.url, reportIntervalMs, redisPresence: true });
    try {
      const operator = connect(a.wsUrl, 'admin:root');
      const frames: OverviewFrame[] = [];
      operator.admin.overview.subscribe(undefined, { onData: (frame) => frames.push(frame) });
      /** Who the latest frame says node `nodeId` read as present in the lobby, or `null`. */
      const lobbyReadBy = (nodeId: string) => {
        const read = frames.at(-1)?.presence.find((p) => p.nodeId === nodeId);
        const lobby = read?.channels.find((c) => c.channel === 'room:lobby');
        return lobby ? { count: lobby.count, ids: lobby.members.map((m) => m.id).sort() } : null;
      };

      // Bea is in the lobby on node B, Cai on node A: each node reads the lobby (its channel
      // has a subscriber there), and only a cluster-wide presence shows A the member on B.
      const bea = connect(b.wsUrl, 'user:bea');
      const cai = connect(a.wsUrl, 'user:cai');
      bea.room.subscribe({ roomId: 'lobby' }, {});
      cai.room.subscribe({ roomId: 'lobby' }, {});
      const both = { count: 2, ids: ['bea', 'cai'] };
      await vi.waitFor(() => {
        expect(lobbyReadBy(a.nodeId)).toEqual(both);
        expect(lobbyReadBy(b.nodeId)).toEqual(both);
      }, settle);

      await bea.$close();
      // Node B no longer reads the lobby once its last subscriber is gone; node A still does,
      // and its later reads no longer list Bea.
      await vi.waitFor(
        () => expect(lobbyReadBy(a.nodeId)).toEqual({ count: 1, ids: ['cai'] }),
        settle,
      );
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.$close()));
      await a.close();
      await b.close();
    }
  });
});
