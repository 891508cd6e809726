import { createDuplexAdmin, type OverviewFrame } from '@duplex/admin';
import { createDuplexClient } from '@duplex/client';
import { createRedisBroker, createRedisPresence } from '@duplex/redis';
import { redisAvailable, startTestRedis, type TestRedis } from '@duplex/redis/testing';
import { type Authenticate, createDuplexServer, initDuplex } from '@duplex/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AdminPageRouter,
  type AdminTestUser,
  createAdminTestRouter,
  reportIntervalMs,
} from './adminPageFixtures';

const quiet = { onConnectionChange: () => {} };
/** Reports cross Redis every 200 ms and frames are ≥ 1 s apart: a few frames on a busy machine. */
const settle = { timeout: 15_000, interval: 50 };

/** `admin:<id>` signs in an operator, `user:<id>` a user. */
const authenticate: Authenticate<AdminTestUser> = ({ connectionParams }) => {
  const match = connectionParams?.token?.match(/^(user|admin):(\w+)$/);
  return match ? { user: { id: match[2]!, admin: match[1] === 'admin' } } : null;
};

/** A node in this process on the Redis broker and the Redis presence, its dashboard attached. */
async function startNode(redisUrl: string) {
  const errors: unknown[] = [];
  const broker = await createRedisBroker({ url: redisUrl, ...quiet });
  const presence = await createRedisPresence({ url: redisUrl, ...quiet });
  const admin = createDuplexAdmin({
    authorize: (user: AdminTestUser) => user.admin,
    broker,
    presence,
    reportIntervalMs,
    audit: () => {},
    onError: (report) => errors.push(report.error),
  });
  const server = createDuplexServer({
    router: createAdminTestRouter(initDuplex<AdminTestUser>(), admin, presence),
    authenticate,
    broker,
    onError: (report) => errors.push(report.error),
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  admin.attach(server);
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    errors,
    nodeId: server.inspector.nodeId,
    wsUrl: `ws://127.0.0.1:${port}/trpc`,
    async close() {
      await server.close({ drainTimeoutMs: 0 });
      await presence.close();
      await broker.close();
    },
  };
}

describe.runIf(redisAvailable('admin presence on Redis'))('admin presence on Redis', () => {
  let redis: TestRedis;
  const clients: { $close(): Promise<void> }[] = [];
  const connect = (url: string, token: string) => {
    const client = createDuplexClient<AdminPageRouter>({
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

  it("shows a member on another node in the operator's frames, and drops them once their client closes", async () => {
    const a = await startNode(redis.url);
    const b = await startNode(redis.url);
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
