import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatEvent } from '@duplex/chat';
import { createDuplexClient, idempotent, isGap } from '@duplex/client';
import type { NotificationEvent } from '@duplex/notifications';
import { createMemoryBroker } from '@duplex/server';
import { nginxAvailable, startNginx } from '@duplex/tests/nginx';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChatApp } from './app';
import type { AppRouter } from './router';

const hasNginx = nginxAvailable('the chat-behind-a-proxy suite');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!hasNginx)('chat and notifications behind nginx defaults (no upgrade)', () => {
  it('fall back to HTTP and SSE, arrive live, and resume across a restart behind the proxy', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'duplex-fallback-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // The broker outlives the restart, as Redis would; the messages live in PGlite.
    const broker = createMemoryBroker();
    cleanups.push(() => broker.close());
    const options = { dataDir, broker, staticDir: null, adminToken: 'secret' } as const;
    let app = await createChatApp(options);
    cleanups.push(() => app.close());
    const { port } = await app.server.listen(0, '127.0.0.1');
    const proxy = await startNginx({ upstreamPort: port, websocket: false });
    cleanups.push(() => proxy[Symbol.asyncDispose]());

    const client = (token: string) => {
      const c = createDuplexClient<AppRouter>({
        url: `ws://127.0.0.1:${proxy.port}/trpc`,
        token,
        reconnect: { delayMs: () => 50 },
      });
      cleanups.push(() => c.$close());
      return c;
    };
    const ada = client('Ada');
    const grace = client('Grace');
    for (const c of [ada, grace]) await c.chat.joinRoom.mutate({ roomId: 'general' });
    expect([ada.$transport.get(), grace.$transport.get()]).toEqual(['http', 'http']);

    const texts: string[] = [];
    const ids: string[] = [];
    grace.chat.onEvent.subscribe(
      { roomId: 'general' },
      {
        onData: ({ data }) => {
          if (isGap(data)) return;
          const event = data as ChatEvent;
          if (event.type === 'message.created') {
            texts.push(event.message.text ?? '');
            ids.push(event.message.id);
          }
        },
      },
    );
    const titles: string[] = [];
    grace.notifications.onNotification.subscribe(
      {},
      {
        onData: ({ data }) => {
          if (isGap(data)) return;
          const event = data as NotificationEvent;
          if (event.type === 'notification.created') titles.push(event.notification.title);
        },
      },
    );
    const say = (text: string) =>
      ada.chat.send.mutate(
        { roomId: 'general', clientMsgId: crypto.randomUUID(), text },
        idempotent,
      );
    // Live once a message comes through.
    await vi.waitFor(
      async () => {
        await say('hello?');
        expect(texts.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 300 },
    );
    await say('@Grace look at this');
    await vi.waitFor(() => expect(titles).toEqual(['Ada mentioned you in General']));

    const expected = ['one', 'two', 'three', 'four'];
    await say('one');
    await say('two');
    // The server restarts behind the proxy: streams reconnect through it and resume.
    await app.close();
    app = await createChatApp(options);
    await app.server.listen(port, '127.0.0.1');
    await say('three');
    await say('four');
    await vi.waitFor(() => expect(texts.slice(-4)).toEqual(expected), { timeout: 20_000 });
    expect(new Set(ids).size).toBe(ids.length);
    await say('@Grace again');
    await vi.waitFor(() => expect(titles).toHaveLength(2), { timeout: 10_000 });
    expect(grace.$transport.get()).toBe('http');
  });
});
