import {
  type ChatEvent,
  type ChatRouterOptions,
  type ChatStore,
  createChatRouter,
  createMemoryChatStore,
  roomChannel,
} from '@duplex/chat';
import { createDuplexClient } from '@duplex/client';
import {
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  createMemoryPresence,
  type DuplexContext,
  type DuplexErrorReport,
  type Presence,
} from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { type ChatApp, type ChatTestUser, chatAuth, chatDuplex } from './chatFixtures';
import { sleep } from './helpers';

type Report = DuplexErrorReport<DuplexContext<ChatTestUser>>;

/** A chat server whose router has its own options (`broker` is the router's, `serverBroker` ctx's). */
async function startChat(
  opts: Omit<ChatRouterOptions<ChatTestUser>, 'store'> & {
    store?: ChatStore;
    serverBroker?: Broker;
  },
) {
  const { serverBroker, ...routerOpts } = opts;
  const server = createDuplexServer({
    router: chatDuplex.router({
      chat: createChatRouter(chatDuplex, {
        store: createMemoryChatStore(),
        limits: { streamIdleTimeoutMs: 200, sendsPerSecond: 1_000, sendBurst: 1_000 },
        ...routerOpts,
      }),
    }),
    authenticate: chatAuth,
    broker: serverBroker ?? routerOpts.broker,
    onError: () => {},
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: { $close(): Promise<void> }[] = [];
  return {
    client(userId: string) {
      const client = createDuplexClient<ChatApp>({
        url: `ws://127.0.0.1:${port}/trpc`,
        token: userId,
        reconnect: { delayMs: () => 10 },
      });
      clients.push(client);
      return client;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.$close()));
      await server.close({ drainTimeoutMs: 0 });
    },
  };
}

describe('chat background failures reach onError', () => {
  it('reports a stream sweep that fails, and keeps serving', async () => {
    const store = createMemoryChatStore();
    const failure = new Error('staleStreams: connection reset');
    vi.spyOn(store, 'staleStreams').mockRejectedValue(failure);
    const reports: Report[] = [];
    await using app = await startChat({
      store,
      broker: createMemoryBroker(),
      onError: (report) => reports.push(report),
    });
    const bot = app.client('bot');
    const room = await bot.chat.createRoom.mutate({ name: 'Ask', visibility: 'public' });
    // The start sweeps once, then the timer sweeps while the stream runs: both fail.
    const reply = await bot.chat.startStream.mutate({ roomId: room.id, clientMsgId: 'r1' });
    expect(reply.stream?.state).toBe('streaming');
    await vi.waitFor(() => expect(reports.length).toBeGreaterThanOrEqual(2));
    expect(reports[0]).toMatchObject({
      source: 'background',
      task: 'chat.streamSweep',
      error: failure,
      transport: undefined,
    });
    await expect(bot.chat.history.query({ roomId: room.id })).resolves.toHaveLength(1);
  });

  it('stops sweeping once its signal is aborted, though a stream is still open', async () => {
    const store = createMemoryChatStore();
    const staleStreams = vi.spyOn(store, 'staleStreams');
    const closing = new AbortController();
    const reports: Report[] = [];
    await using app = await startChat({
      store,
      broker: createMemoryBroker(),
      onError: (report) => reports.push(report),
      signal: closing.signal,
    });
    const bot = app.client('bot');
    const room = await bot.chat.createRoom.mutate({ name: 'Ask', visibility: 'public' });
    await bot.chat.startStream.mutate({ roomId: room.id, clientMsgId: 'r1' });
    // The timer sweeps every 50 ms while the stream runs (streamIdleTimeoutMs 200 / 4).
    await vi.waitFor(() => expect(staleStreams.mock.calls.length).toBeGreaterThanOrEqual(2));
    closing.abort();
    const sweeps = staleStreams.mock.calls.length;
    await sleep(300);
    expect(staleStreams.mock.calls.length).toBe(sweeps);
    expect(reports).toEqual([]);
  });

  it('reports presence that fails with the subscriber, and still delivers messages', async () => {
    const memory = createMemoryPresence();
    const failure = new Error('presence store down');
    const presence: Presence = {
      join: () => Promise.reject(failure),
      members: (channel) => memory.members(channel),
    };
    const reports: Report[] = [];
    await using app = await startChat({
      broker: createMemoryBroker(),
      presence,
      onError: (report) => reports.push(report),
    });
    const ada = app.client('ada');
    const room = await ada.chat.createRoom.mutate({ name: 'Lobby', visibility: 'public' });
    const events: ChatEvent[] = [];
    const sub = ada.chat.onEvent.subscribe(
      { roomId: room.id },
      { onData: (envelope) => events.push(envelope.data as ChatEvent) },
    );
    await vi.waitFor(() => expect(reports).toHaveLength(1));
    expect(reports[0]).toMatchObject({
      source: 'background',
      task: 'chat.presence',
      error: failure,
      ctx: { user: { id: 'ada' } },
      input: { roomId: room.id },
    });
    await ada.chat.send.mutate({ roomId: room.id, clientMsgId: 'm1', text: 'still here' });
    await vi.waitFor(() => expect(events.map((e) => e.type)).toContain('message.created'));
    sub.unsubscribe();
  });

  it('publishes on the broker given at creation, the sweep included', async () => {
    const routerBroker = createMemoryBroker();
    const serverBroker = createMemoryBroker();
    await using app = await startChat({ broker: routerBroker, serverBroker });
    const bot = app.client('bot');
    const room = await bot.chat.createRoom.mutate({ name: 'Ask', visibility: 'public' });
    const seen: string[] = [];
    const stop = new AbortController();
    const read = async (broker: Broker, who: string) => {
      for await (const item of broker.subscribe<ChatEvent>(roomChannel(room.id), {
        signal: stop.signal,
      })) {
        if (item.type === 'event') seen.push(`${who}:${item.data.type}`);
      }
    };
    const readers = [read(routerBroker, 'router'), read(serverBroker, 'server')];
    await bot.chat.startStream.mutate({ roomId: room.id, clientMsgId: 'r1' });
    // Nobody appends: the sweep ends the stream as interrupted, off any call.
    await vi.waitFor(() => expect(seen).toContain('router:message.streamEnded'), {
      timeout: 3_000,
    });
    expect(seen.filter((s) => s.startsWith('server:'))).toEqual([]);
    stop.abort();
    await Promise.allSettled(readers);
  });
});
