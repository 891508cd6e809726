import type { ChatEvent, Message } from '@duplex/chat';
import { createDuplexClient, type DuplexClient, idempotent } from '@duplex/client';
import type { AppRouter } from '@duplex/example-chat/router';
import type { TestRedis } from '@duplex/redis/testing';
import { createPostgresDatabase } from '@duplex/sql';
import { testPostgresUrl } from '@duplex/sql/testing';
import { bundleClusterNode, type ClusterNode, startClusterNode } from './clusterNode';

let schemas = 0;

/** The operator's token on every node of {@link startCluster} (sign in as `admin:<token>`). */
export const clusterAdminToken = 'cluster-test-operator';

/** Three (or `count`) node processes on one Redis and one fresh PostgreSQL schema. */
export async function startCluster(redis: TestRedis, count = 3) {
  const bundle = await bundleClusterNode();
  const pgSchema = `duplex_test_${process.pid}_${Date.now().toString(36)}_cluster${++schemas}`;
  const common = {
    redisUrl: redis.url,
    databaseUrl: testPostgresUrl,
    pgSchema,
    bundle,
    adminToken: clusterAdminToken,
    onLog: (line: string) => logs.push(line),
  };
  const logs: string[] = [];
  const nodes: ClusterNode[] = [];
  // The first node migrates and seeds the schema; the others start together once it has.
  nodes.push(await startClusterNode({ name: 'n1', ...common }));
  nodes.push(
    ...(await Promise.all(
      Array.from({ length: count - 1 }, (_, i) =>
        startClusterNode({ name: `n${i + 2}`, ...common }),
      ),
    )),
  );
  return {
    nodes,
    logs,
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      const db = await createPostgresDatabase({ connectionString: testPostgresUrl });
      try {
        await db.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      } finally {
        await db.close();
      }
    },
  };
}

/**
 * A chat member connected to `urls` (tried in turn), reading the `general` room, from
 * `lastEventId` on when given.
 */
export async function chatMember(name: string, urls: string[], lastEventId?: string) {
  const client: DuplexClient<AppRouter> = createDuplexClient<AppRouter>({
    url: urls,
    token: name,
    reconnect: { delayMs: () => 50 },
    // A killed node's socket must be noticed quickly, not after the default 20 s.
    keepAlive: { intervalMs: 1_000, pongTimeoutMs: 1_000 },
  });
  await client.chat.joinRoom.mutate({ roomId: 'general' });
  const messages: Message[] = [];
  /** The broker event id each message arrived with, to resume from. */
  const eventIds: string[] = [];
  const events: ChatEvent[] = [];
  const errors: unknown[] = [];
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    client.chat.onEvent.subscribe(
      { roomId: 'general', ...(lastEventId ? { lastEventId } : {}) },
      {
        onData: ({ id, data }) => {
          const event = data as ChatEvent;
          events.push(event);
          // tRPC reports a subscription started before the server has subscribed to the
          // broker; the member's own presence, announced once it has, shows it is live.
          if (event.type === 'presence' && event.online.some((m) => m.name === name)) resolve();
          if (event.type === 'message.created') {
            messages.push(event.message);
            eventIds.push(id);
          }
        },
        onError: (error) => {
          errors.push(error);
          reject(error);
        },
      },
    );
  });
  return {
    name,
    client,
    messages,
    eventIds,
    events,
    errors,
    texts: () => messages.map((m) => m.text),
    /**
     * Sends with a stable `clientMsgId`, retried across reconnects (sends are idempotent); pass
     * the same `clientMsgId` to send the same message again after a failure.
     */
    send(text: string, clientMsgId = `${name}-${++sent}`) {
      return client.chat.send.mutate({ roomId: 'general', clientMsgId, text }, idempotent);
    },
    close: () => client.$close(),
  };
}

export type ChatMember = Awaited<ReturnType<typeof chatMember>>;
