import { type ChatEvent, createChatRouter, createMemoryChatStore } from '@duplex/chat';
import { createDuplexClient } from '@duplex/client';
import { createRedisBroker, createRedisPresence } from '@duplex/redis';
import { redisAvailable, startTestRedis } from '@duplex/redis/testing';
import { createDuplexServer } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { type ChatApp, chatAuth, chatDuplex } from './chatFixtures';

const quiet = { onConnectionChange: () => {} };

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
    const startNode = async () => {
      const broker = await createRedisBroker({ url: redis.url, ...quiet });
      const presence = await createRedisPresence({ url: redis.url, ...quiet });
      const chat = createChatRouter(chatDuplex, { store, presence });
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
    };
    const [a, b] = [await startNode(), await startNode()];
    const online: string[][] = [];
    const ann = createDuplexClient<ChatApp>({ url: a.url, token: 'ann' });
    const bob = createDuplexClient<ChatApp>({ url: b.url, token: 'bob' });
    try {
      await bob.chat.joinRoom.mutate({ roomId: 'lobby' });
      ann.chat.onEvent.subscribe(
        { roomId: 'lobby' },
        {
          onData: ({ data }) => {
            const event = data as ChatEvent;
            if (event.type === 'presence') online.push(event.online.map((m) => m.id));
          },
        },
      );
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
});
