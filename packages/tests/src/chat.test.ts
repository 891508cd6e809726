import type { ChatEvent } from '@duplex/chat';
import { type DuplexClient, DuplexClientError, idempotent, isGap } from '@duplex/client';
import { type Broker, createMemoryBroker } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { type ChatApp, startChatServer, tinyPng } from './chatFixtures';
import { deferred, sleep } from './helpers';

type Client = DuplexClient<ChatApp>;

/** Subscribes to a room and collects its events (gaps apart). */
async function watch(client: Client, roomId: string) {
  const events: ChatEvent[] = [];
  const errors: unknown[] = [];
  const started = deferred();
  const subscription = client.chat.onEvent.subscribe(
    { roomId },
    {
      onStarted: () => started.resolve(),
      onData: ({ data }) => {
        if (!isGap(data)) events.push(data);
      },
      onError: (e) => errors.push(e),
    },
  );
  await started.promise;
  const ofType = <T extends ChatEvent['type']>(type: T) =>
    events.filter((e): e is Extract<ChatEvent, { type: T }> => e.type === type);
  return { events, errors, subscription, ofType };
}

const send = (
  client: Client,
  roomId: string,
  text: string,
  clientMsgId: string = crypto.randomUUID(),
) => client.chat.send.mutate({ roomId, clientMsgId, text }, idempotent);

describe('chat sends when the broker fails', () => {
  it('announces a message whose first publish failed when the send is retried, once', async () => {
    const real = createMemoryBroker();
    let failPublishes = 0;
    const broker: Broker = {
      publish: (channel, data, opts) =>
        failPublishes-- > 0
          ? Promise.reject(new Error('broker down'))
          : real.publish(channel, data, opts),
      subscribe: (channel, opts) => real.subscribe(channel, opts),
      headEventId: (channel) => real.headEventId(channel),
      close: () => real.close(),
    };
    await using app = await startChatServer({ broker });
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    const bob = app.client('bob');
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    const watcher = await watch(bob, room.id);

    failPublishes = 1;
    const input = { roomId: room.id, clientMsgId: 'm1', text: 'hello' };
    const failed = await ann.chat.send.mutate(input).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(DuplexClientError);
    expect(await ann.chat.history.query({ roomId: room.id })).toHaveLength(1);
    const sent = await ann.chat.send.mutate(input);
    await vi.waitFor(() => expect(watcher.ofType('message.created')).toHaveLength(1));
    expect(watcher.ofType('message.created')[0]!.message.id).toBe(sent.id);
    // Announced now: a further retry is answered without another broadcast.
    await ann.chat.send.mutate(input);
    await send(ann, room.id, 'after');
    await vi.waitFor(() => expect(watcher.ofType('message.created')).toHaveLength(2));
    expect(watcher.ofType('message.created').map((e) => e.message.text)).toEqual([
      'hello',
      'after',
    ]);
  });
});

describe('chat rooms', () => {
  it('creates public and private rooms; others join public ones, private ones need an invite', async () => {
    await using app = await startChatServer();
    const ann = app.client('ann');
    const bob = app.client('bob');
    const lobby = await ann.chat.createRoom.mutate({ name: 'Lobby', visibility: 'public' });
    const secret = await ann.chat.createRoom.mutate({ name: 'Secret', visibility: 'private' });
    expect((await bob.chat.rooms.query()).discover.map((r) => r.id)).toContain(lobby.id);
    expect((await bob.chat.rooms.query()).discover.map((r) => r.id)).not.toContain(secret.id);
    expect(await bob.chat.joinRoom.mutate({ roomId: lobby.id })).toMatchObject({
      userId: 'bob',
      role: 'member',
    });
    // A private room is not found, not merely forbidden: its existence is not revealed.
    await expect(bob.chat.joinRoom.mutate({ roomId: secret.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(bob.chat.invite.mutate({ roomId: lobby.id, userId: 'cat' })).rejects.toMatchObject(
      { code: 'FORBIDDEN' },
    );
    await expect(ann.chat.invite.mutate({ roomId: secret.id, userId: 'bob' })).resolves.toEqual({
      status: 'invited',
      user: { id: 'bob', name: 'Bob' },
    });
    await expect(bob.chat.joinRoom.mutate({ roomId: secret.id })).resolves.toMatchObject({
      userId: 'bob',
    });
    const mine = (await bob.chat.rooms.query()).mine.map((s) => s.room.name).sort();
    expect(mine).toEqual(['Lobby', 'Secret']);
    expect(
      (await ann.chat.members.query({ roomId: secret.id })).map((m) => [m.userId, m.role]),
    ).toEqual([
      ['ann', 'owner'],
      ['bob', 'member'],
    ]);
  });

  it('lets moderators invite and the owner set roles, and no one else', async () => {
    await using app = await startChatServer();
    const [ann, bob, cat] = [app.client('ann'), app.client('bob'), app.client('cat')];
    // Invites find users the chat has seen: each makes a call first, as an app does on sign-in.
    for (const c of [bob, cat]) await c.chat.rooms.query();
    const room = await ann.chat.createRoom.mutate({ name: 'Team', visibility: 'private' });
    await ann.chat.invite.mutate({ roomId: room.id, userId: 'bob' });
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    await expect(
      bob.chat.setRole.mutate({ roomId: room.id, userId: 'bob', role: 'moderator' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await ann.chat.setRole.mutate({ roomId: room.id, userId: 'bob', role: 'moderator' });
    await expect(bob.chat.invite.mutate({ roomId: room.id, userId: 'cat' })).resolves.toEqual({
      status: 'invited',
      user: { id: 'cat', name: 'Cat' },
    });
    await expect(ann.chat.leaveRoom.mutate({ roomId: room.id })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('keeps non-members out of every room procedure', async () => {
    await using app = await startChatServer();
    const [ann, eve] = [app.client('ann'), app.client('eve')];
    const room = await ann.chat.createRoom.mutate({ name: 'Open', visibility: 'public' });
    const message = await send(ann, room.id, 'hello');
    // Public or not, a room one has not joined answers as a room that does not exist.
    const denied = { code: 'NOT_FOUND', message: 'No such room, or you have not joined it' };
    const deniedMessage = {
      code: 'NOT_FOUND',
      message: 'No such message, or you have not joined its room',
    };
    await expect(send(eve, room.id, 'hi')).rejects.toMatchObject(denied);
    await expect(eve.chat.history.query({ roomId: room.id })).rejects.toMatchObject(denied);
    await expect(eve.chat.members.query({ roomId: room.id })).rejects.toMatchObject(denied);
    await expect(
      eve.chat.react.mutate({ messageId: message.id, emoji: '👍' }),
    ).rejects.toMatchObject(deniedMessage);
    await expect(
      eve.chat.markRead.mutate({ roomId: room.id, messageId: message.id }),
    ).rejects.toMatchObject(denied);
    await expect(eve.chat.typing.mutate({ roomId: room.id })).rejects.toMatchObject(denied);
    await expect(eve.chat.delete.mutate({ messageId: message.id })).rejects.toMatchObject(
      deniedMessage,
    );
    const failed = deferred<unknown>();
    eve.chat.onEvent.subscribe({ roomId: room.id }, { onError: (e) => failed.resolve(e) });
    expect(await failed.promise).toMatchObject(denied);
  });
});

describe('chat messages', () => {
  it('stores and broadcasts a retried send once, returning the first message', async () => {
    await using app = await startChatServer();
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    const watcher = await watch(ann, room.id);
    const first = await send(ann, room.id, 'once', 'msg-1');
    const retry = await send(ann, room.id, 'once again?', 'msg-1');
    expect(retry).toEqual(first);
    await send(ann, room.id, 'marker');
    await vi.waitFor(() =>
      expect(watcher.ofType('message.created').map((e) => e.message.text)).toEqual([
        'once',
        'marker',
      ]),
    );
    expect(await ann.chat.history.query({ roomId: room.id })).toHaveLength(2);
  });

  it('edits by the author only; deletes by the author or a moderator, leaving a tombstone', async () => {
    await using app = await startChatServer();
    const [ann, bob] = [app.client('ann'), app.client('bob')];
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    const watcher = await watch(ann, room.id);
    const mine = await send(bob, room.id, 'bob wrote this');
    await expect(
      ann.chat.edit.mutate({ messageId: mine.id, text: 'hijack' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      bob.chat.edit.mutate({ messageId: mine.id, text: 'fixed' }),
    ).resolves.toMatchObject({ text: 'fixed' });
    const annMessage = await send(ann, room.id, 'owner text');
    await expect(bob.chat.delete.mutate({ messageId: annMessage.id })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const tombstone = await ann.chat.delete.mutate({ messageId: mine.id });
    expect(tombstone).toMatchObject({ id: mine.id, text: null });
    expect(tombstone.deletedAt).toBeInstanceOf(Date);
    const history = await bob.chat.history.query({ roomId: room.id });
    expect(history.map((m) => m.text)).toEqual(['owner text', null]);
    await vi.waitFor(() => expect(watcher.ofType('message.deleted')).toHaveLength(1));
    expect(watcher.ofType('message.edited').map((e) => e.message.text)).toEqual(['fixed']);
    expect(watcher.ofType('message.deleted')[0]).toMatchObject({
      deletedBy: 'ann',
      message: { id: mine.id },
    });
  });

  it('toggles reactions and streams each change', async () => {
    await using app = await startChatServer();
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    const watcher = await watch(ann, room.id);
    const message = await send(ann, room.id, 'react to me');
    expect(await ann.chat.react.mutate({ messageId: message.id, emoji: '🎉' })).toEqual({
      added: true,
    });
    expect(await ann.chat.react.mutate({ messageId: message.id, emoji: '🎉' })).toEqual({
      added: false,
    });
    await expect(
      ann.chat.react.mutate({ messageId: message.id, emoji: 'abc' }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await vi.waitFor(() =>
      expect(watcher.ofType('reaction').map((e) => e.added)).toEqual([true, false]),
    );
  });

  it('pages history newest first and caps the page size', async () => {
    await using app = await startChatServer({
      limits: { sendsPerSecond: 1_000, sendBurst: 1_000 },
    });
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    for (let i = 0; i < 7; i++) await send(ann, room.id, `m${i}`);
    const page1 = await ann.chat.history.query({ roomId: room.id, limit: 3 });
    const page2 = await ann.chat.history.query({
      roomId: room.id,
      limit: 3,
      before: page1.at(-1)!.id,
    });
    expect([...page1, ...page2].map((m) => m.text)).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1']);
    await expect(ann.chat.history.query({ roomId: room.id, limit: 500 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('answers each limit with a clear error', async () => {
    await using app = await startChatServer({
      limits: { maxTextLength: 10, maxAttachmentsPerMessage: 1, sendBurst: 3, sendsPerSecond: 1 },
    });
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    await expect(send(ann, room.id, 'x'.repeat(11))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('at most 10'),
    });
    await expect(
      ann.chat.send.mutate({
        roomId: room.id,
        clientMsgId: 'a',
        attachments: ['A'.repeat(22), 'B'.repeat(22)],
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('at most 1') });
    await expect(
      ann.chat.send.mutate({ roomId: room.id, clientMsgId: 'b', attachments: ['C'.repeat(22)] }),
    ).rejects.toMatchObject({
      message: 'Unknown attachment: upload it first',
    });
    await expect(ann.chat.send.mutate({ roomId: room.id, clientMsgId: 'c' })).rejects.toMatchObject(
      { code: 'BAD_REQUEST' },
    );
    const results = await Promise.allSettled(
      [0, 1, 2, 3, 4].map((i) => send(ann, room.id, `n${i}`)),
    );
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code,
    );
    expect(codes.filter((c) => c === 'ok')).toHaveLength(3);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(2);
  });
});

describe('chat live signals', () => {
  it('streams typing live but never replays it', async () => {
    await using app = await startChatServer();
    const [ann, bob] = [app.client('ann'), app.client('bob')];
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    const live = await watch(ann, room.id);
    const { expiresAt } = await bob.chat.typing.mutate({ roomId: room.id });
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now());
    await vi.waitFor(() =>
      expect(live.ofType('typing')).toMatchObject([{ userId: 'bob', name: 'Bob' }]),
    );
    await send(bob, room.id, 'done typing');
    await vi.waitFor(() => expect(live.ofType('message.created')).toHaveLength(1));
    // A replay from the start of the room's log has the message but not the typing signal.
    const replay: ChatEvent[] = [];
    const started = deferred();
    const head = (await app.broker.headEventId(`chat:room:${room.id}`))!;
    ann.chat.onEvent.subscribe(
      { roomId: room.id, lastEventId: head.replace(/:\d+$/, ':0') },
      {
        onStarted: () => started.resolve(),
        onData: ({ data }) => void (isGap(data) || replay.push(data)),
      },
    );
    await started.promise;
    await vi.waitFor(() => expect(replay.some((e) => e.type === 'message.created')).toBe(true));
    expect(replay.filter((e) => e.type === 'typing')).toEqual([]);
  });

  it('shows a user online until their last tab leaves', async () => {
    await using app = await startChatServer();
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    const watcher = await watch(ann, room.id);
    const bobTab1 = app.client('bob');
    const bobTab2 = app.client('bob');
    await bobTab1.chat.joinRoom.mutate({ roomId: room.id });
    const tab1 = await watch(bobTab1, room.id);
    const tab2 = await watch(bobTab2, room.id);
    const online = () =>
      watcher
        .ofType('presence')
        .at(-1)
        ?.online.map((m) => m.id)
        .sort();
    await vi.waitFor(() => expect(online()).toEqual(['ann', 'bob']));
    tab1.subscription.unsubscribe();
    await sleep(100);
    expect(online()).toEqual(['ann', 'bob']);
    tab2.subscription.unsubscribe();
    await vi.waitFor(() => expect(online()).toEqual(['ann']));
  });

  it('sends read receipts to the room and keeps unread counts', async () => {
    await using app = await startChatServer();
    const [ann, bob] = [app.client('ann'), app.client('bob')];
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    const watcher = await watch(ann, room.id);
    await send(ann, room.id, 'one');
    const two = await send(ann, room.id, 'two');
    const unread = async () =>
      (await bob.chat.rooms.query()).mine.find((s) => s.room.id === room.id)?.unread;
    expect(await unread()).toBe(2);
    expect(await bob.chat.markRead.mutate({ roomId: room.id, messageId: two.id })).toEqual({
      moved: true,
    });
    expect(await unread()).toBe(0);
    await vi.waitFor(() =>
      expect(watcher.ofType('receipt')).toEqual([
        { type: 'receipt', userId: 'bob', messageId: two.id },
      ]),
    );
  });

  it('ends the stream of a member who leaves', async () => {
    await using app = await startChatServer();
    const [ann, bob] = [app.client('ann'), app.client('bob')];
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    const ended = deferred();
    const started = deferred();
    bob.chat.onEvent.subscribe(
      { roomId: room.id },
      { onStarted: () => started.resolve(), onComplete: () => ended.resolve() },
    );
    await started.promise;
    await bob.chat.leaveRoom.mutate({ roomId: room.id });
    await ended.promise;
    expect(app.server.metrics.subscriptions).toBe(0);
  });

  it('resumes a room stream across a server restart with nothing lost or doubled', async () => {
    await using app = await startChatServer({
      limits: { sendsPerSecond: 1_000, sendBurst: 1_000 },
    });
    const [ann, bob] = [app.client('ann'), app.client('bob')];
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    const watcher = await watch(bob, room.id);
    for (let i = 0; i < 10; i++) await send(ann, room.id, `before ${i}`);
    await app.restart();
    for (let i = 0; i < 10; i++) await send(ann, room.id, `after ${i}`);
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => `before ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `after ${i}`),
    ];
    await vi.waitFor(
      () => expect(watcher.ofType('message.created').map((e) => e.message.text)).toEqual(expected),
      { timeout: 5_000 },
    );
    expect(watcher.errors).toEqual([]);
  });
});

describe('chat attachments', () => {
  const upload = (httpUrl: string, body: Buffer, token: string | null = 'ann') =>
    fetch(`${httpUrl}/chat/attachments`, {
      method: 'POST',
      headers: {
        'content-type': 'image/png',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: new Uint8Array(body),
    });

  it('uploads an image checked by content, attaches it, and serves it with nosniff', async () => {
    await using app = await startChatServer();
    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    const res = await upload(app.httpUrl, tinyPng);
    expect(res.status).toBe(201);
    const attachment = (await res.json()) as { id: string; url: string; contentType: string };
    expect(attachment.contentType).toBe('image/png');
    const message = await ann.chat.send.mutate({
      roomId: room.id,
      clientMsgId: 'img',
      attachments: [attachment.id],
    });
    expect(message.attachments).toEqual([
      {
        id: attachment.id,
        contentType: 'image/png',
        sizeBytes: tinyPng.length,
        url: attachment.url,
      },
    ]);
    const served = await fetch(`${app.httpUrl}${attachment.url}`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await served.arrayBuffer()).equals(tinyPng)).toBe(true);
    // Someone else cannot attach ann's upload.
    const bob = app.client('bob');
    await bob.chat.joinRoom.mutate({ roomId: room.id });
    await expect(
      bob.chat.send.mutate({ roomId: room.id, clientMsgId: 'steal', attachments: [attachment.id] }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('refuses anonymous, oversized and non-image uploads', async () => {
    await using app = await startChatServer({ limits: { maxAttachmentBytes: 1_000 } });
    expect((await upload(app.httpUrl, tinyPng, null)).status).toBe(401);
    expect((await upload(app.httpUrl, Buffer.concat([tinyPng, Buffer.alloc(2_000)]))).status).toBe(
      413,
    );
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    expect((await upload(app.httpUrl, html)).status).toBe(415);
    expect((await fetch(`${app.httpUrl}/chat/attachments/${'Z'.repeat(22)}`)).status).toBe(404);
  });
});
