import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type ChatEvent,
  type ChatStore,
  createChatRouter,
  createMemoryChatStore,
  createSqlChatStore,
  roomChannel,
} from '@duplex/chat';
import { createDuplexClient } from '@duplex/client';
import { createRedisBroker, createRedisPresence } from '@duplex/redis';
import { redisAvailable, startTestRedis, type TestRedis } from '@duplex/redis/testing';
import { createDuplexServer } from '@duplex/server';
import { createPostgresDatabase } from '@duplex/sql';
import { sqlTestBackends, testPostgresUrl } from '@duplex/sql/testing';
import { describe, expect, it, vi } from 'vitest';
import { type ChatApp, chatAuth, chatDuplex } from './chatFixtures';

const quiet = { onConnectionChange: () => {} };
/** Presence crosses Redis and a second process: on a busy CI machine that takes seconds, not one. */
const settle = { timeout: 10_000, interval: 50 };

/** A chat node in this process on the Redis broker and Redis presence. */
async function startNode(redis: TestRedis, store: ChatStore, nodeTtlMs?: number) {
  const broker = await createRedisBroker({ url: redis.url, ...quiet });
  const presence = await createRedisPresence({
    url: redis.url,
    ...(nodeTtlMs ? { nodeTtlMs } : {}),
    ...quiet,
  });
  const chat = createChatRouter(chatDuplex, { store, broker, presence });
  const server = createDuplexServer({
    router: chatDuplex.router({ chat }),
    authenticate: chatAuth,
    broker,
    onError: () => {},
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    url: `ws://127.0.0.1:${port}/trpc`,
    async close() {
      await server.close({ drainTimeoutMs: 0 });
      await Promise.all([broker.close(), presence.close()]);
    },
  };
}

/** The presence snapshots `client` receives in `roomId`, as member ids. */
function watchOnline(client: ReturnType<typeof createDuplexClient<ChatApp>>, roomId: string) {
  const online: string[][] = [];
  client.chat.onEvent.subscribe(
    { roomId },
    {
      onData: ({ data }) => {
        const event = data as ChatEvent;
        if (event.type === 'presence') online.push(event.online.map((m) => m.id));
      },
    },
  );
  return online;
}

const postgres = (await sqlTestBackends()).find((b) => b.name === 'postgres');

describe.runIf(redisAvailable('the Redis chat suite'))('chat on two nodes sharing Redis', () => {
  it('shows who is online across nodes, and drops a member who leaves either', async () => {
    await using redis = await startTestRedis({ appendOnly: false });
    // One store for both nodes, standing in for the PostgreSQL they would share.
    const store = createMemoryChatStore();
    await store.createRoom({
      id: 'lobby',
      name: 'Lobby',
      visibility: 'public',
      ownerId: 'ann',
      ownerName: 'Ann',
    });
    const [a, b] = [await startNode(redis, store), await startNode(redis, store)];
    const ann = createDuplexClient<ChatApp>({ url: a.url, token: 'ann' });
    const bob = createDuplexClient<ChatApp>({ url: b.url, token: 'bob' });
    try {
      await bob.chat.joinRoom.mutate({ roomId: 'lobby' });
      const online = watchOnline(ann, 'lobby');
      await vi.waitFor(() => expect(online.at(-1)).toEqual(['ann']));
      const bobsStream = bob.chat.onEvent.subscribe({ roomId: 'lobby' }, { onData: () => {} });
      await vi.waitFor(() => expect(online.at(-1)).toEqual(['ann', 'bob']));
      bobsStream.unsubscribe();
      await vi.waitFor(() => expect(online.at(-1)).toEqual(['ann']));
    } finally {
      await Promise.all([ann.$close(), bob.$close()]);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it.runIf(postgres?.available)(
    'shows the right members right after a node dies without saying goodbye',
    { timeout: 25_000 },
    async () => {
      await using redis = await startTestRedis({ appendOnly: false });
      const nodeTtlMs = 1_000;
      const schema = `duplex_test_${process.pid}_${Date.now().toString(36)}_presence`;
      const db = await createPostgresDatabase({ connectionString: testPostgresUrl, schema });
      const store = await createSqlChatStore(db);
      await store.createRoom({
        id: 'lobby',
        name: 'Lobby',
        visibility: 'public',
        ownerId: 'ann',
        ownerName: 'Ann',
      });
      const a = await startNode(redis, store, nodeTtlMs);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@duplex/source',
          fileURLToPath(new URL('./fixtures/redisChatNode.ts', import.meta.url)),
        ],
        {
          env: {
            ...process.env,
            REDIS_URL: redis.url,
            DATABASE_URL: testPostgresUrl,
            PG_SCHEMA: schema,
            NODE_TTL_MS: String(nodeTtlMs),
          },
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      const clients: { $close(): Promise<void> }[] = [];
      const connect = (token: string, url: string | string[]) => {
        const client = createDuplexClient<ChatApp>({
          url,
          token,
          reconnect: { delayMs: () => 50 },
          keepAlive: { intervalMs: 1_000, pongTimeoutMs: 1_000 },
        });
        clients.push(client);
        return client;
      };
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            out += chunk;
            const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
            if (line) resolve((JSON.parse(line) as { port: number }).port);
          });
          child.once('exit', (code) => reject(new Error(`chat node exited (${code})`)));
        });
        const bUrl = `ws://127.0.0.1:${port}/trpc`;
        const ann = connect('ann', a.url);
        // Bob can move to node A; Dee knows only node B.
        const bob = connect('bob', [bUrl, a.url]);
        const dee = connect('dee', bUrl);
        await bob.chat.joinRoom.mutate({ roomId: 'lobby' });
        await dee.chat.joinRoom.mutate({ roomId: 'lobby' });
        const online = watchOnline(ann, 'lobby');
        watchOnline(bob, 'lobby');
        watchOnline(dee, 'lobby');
        const last = () => [...(online.at(-1) ?? [])].sort();
        await vi.waitFor(() => expect(last()).toEqual(['ann', 'bob', 'dee']), settle);

        const died = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await died;
        // Bob resubscribes on node A: listed once, though node B's entry for him may linger.
        await vi.waitFor(
          () => expect(online.at(-1)?.filter((id) => id === 'bob')).toEqual(['bob']),
          settle,
        );
        // Once node B's heartbeat has expired, presence holds no one from it but Bob…
        const probe = await createRedisPresence({ url: redis.url, ...quiet });
        try {
          await vi.waitFor(
            async () =>
              expect((await probe.members(roomChannel('lobby'))).map((m) => m.id).sort()).toEqual([
                'ann',
                'bob',
              ]),
            { timeout: 5_000, interval: 100 },
          );
        } finally {
          await probe.close();
        }
        // …and the next snapshot the chat publishes says so.
        const carol = connect('carol', a.url);
        await carol.chat.joinRoom.mutate({ roomId: 'lobby' });
        watchOnline(carol, 'lobby');
        await vi.waitFor(() => expect(last()).toEqual(['ann', 'bob', 'carol']), settle);
      } finally {
        child.kill('SIGKILL');
        await Promise.all(clients.map((c) => c.$close()));
        await a.close();
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      }
    },
  );
});
