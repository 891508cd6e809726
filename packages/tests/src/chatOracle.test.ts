import { type DuplexClient, idempotent } from '@duplex/client';
import { describe, expect, it } from 'vitest';
import { type ChatApp, startChatServer } from './chatFixtures';
import { deferred } from './helpers';
import { startNotifyServer } from './notificationsFixtures';

type Client = DuplexClient<ChatApp>;

/** What a call answered: its result, or its error's code and message. */
async function outcomeOf(call: () => Promise<unknown>) {
  try {
    return { ok: await call() };
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
}

/** Resolves on the first event (members get a presence event at once), rejects with the error. */
function subscribed(client: Client, roomId: string) {
  const outcome = deferred<string>();
  const subscription = client.chat.onEvent.subscribe(
    { roomId },
    { onData: () => outcome.resolve('subscribed'), onError: (error) => outcome.reject(error) },
  );
  return outcome.promise.finally(() => subscription.unsubscribe());
}

/** One room of ann's with a plain message and a streamed reply in it. */
async function roomOf(ann: Client, visibility: 'public' | 'private') {
  const room = await ann.chat.createRoom.mutate({ name: visibility, visibility });
  const send = { roomId: room.id, clientMsgId: crypto.randomUUID(), text: 'secret' };
  const message = await ann.chat.send.mutate(send, idempotent);
  const stream = await ann.chat.startStream.mutate({
    roomId: room.id,
    clientMsgId: crypto.randomUUID(),
    replyTo: message.id,
  });
  return { roomId: room.id, messageId: message.id, streamId: stream.id };
}
type Target = Awaited<ReturnType<typeof roomOf>>;

/** Every chat procedure that names a room or a message, called by `eve` on `target`. */
const calls: [string, (eve: Client, target: Target, own: Target) => Promise<unknown>][] = [
  ['leaveRoom', (eve, t) => eve.chat.leaveRoom.mutate({ roomId: t.roomId })],
  ['invite', (eve, t) => eve.chat.invite.mutate({ roomId: t.roomId, userId: 'eve' })],
  [
    'setRole',
    (eve, t) => eve.chat.setRole.mutate({ roomId: t.roomId, userId: 'eve', role: 'moderator' }),
  ],
  ['members', (eve, t) => eve.chat.members.query({ roomId: t.roomId })],
  ['history', (eve, t) => eve.chat.history.query({ roomId: t.roomId })],
  ['typing', (eve, t) => eve.chat.typing.mutate({ roomId: t.roomId })],
  ['send', (eve, t) => eve.chat.send.mutate({ roomId: t.roomId, clientMsgId: 'x', text: 'hi' })],
  [
    'send replyTo',
    (eve, t, own) =>
      eve.chat.send.mutate({ roomId: own.roomId, clientMsgId: 'y', replyTo: t.messageId }),
  ],
  ['startStream', (eve, t) => eve.chat.startStream.mutate({ roomId: t.roomId, clientMsgId: 'z' })],
  [
    'startStream replyTo',
    (eve, t, own) =>
      eve.chat.startStream.mutate({ roomId: own.roomId, clientMsgId: 'w', replyTo: t.messageId }),
  ],
  ['react', (eve, t) => eve.chat.react.mutate({ messageId: t.messageId, emoji: '👍' })],
  ['edit', (eve, t) => eve.chat.edit.mutate({ messageId: t.messageId, text: 'mine' })],
  ['delete', (eve, t) => eve.chat.delete.mutate({ messageId: t.messageId })],
  ['markRead', (eve, t) => eve.chat.markRead.mutate({ roomId: t.roomId, messageId: t.messageId })],
  [
    'markRead in an own room',
    (eve, t, own) => eve.chat.markRead.mutate({ roomId: own.roomId, messageId: t.messageId }),
  ],
  [
    'appendStream',
    (eve, t) => eve.chat.appendStream.mutate({ messageId: t.streamId, seq: 0, text: 'x' }),
  ],
  ['finishStream', (eve, t) => eve.chat.finishStream.mutate({ messageId: t.streamId })],
  ['cancelStream', (eve, t) => eve.chat.cancelStream.mutate({ messageId: t.streamId })],
  ['onEvent', (eve, t) => subscribed(eve, t.roomId)],
];

describe('what an outsider learns from chat', () => {
  it('answers a private room, a public room not joined and nothing alike, in every procedure', async () => {
    await using app = await startChatServer({ limits: { sendBurst: 1_000 } });
    const [ann, eve] = [app.client('ann'), app.client('eve')];
    const secret = await roomOf(ann, 'private');
    const open = await roomOf(ann, 'public');
    const own = await roomOf(eve, 'public');
    // Past the newest message: what a counting outsider probes next.
    const next = String(Number(own.streamId) + 1);
    const nothing: Target = { roomId: crypto.randomUUID(), messageId: next, streamId: next };

    const answers: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, call] of calls) {
      const none = await outcomeOf(() => call(eve, nothing, own));
      expect(none, name).not.toHaveProperty('ok');
      answers[name] = {
        private: await outcomeOf(() => call(eve, secret, own)),
        public: await outcomeOf(() => call(eve, open, own)),
      };
      expected[name] = { private: none, public: none };
    }
    expect(answers).toEqual(expected);

    // Joining: a public room lets anyone in; a private one without an invitation is nothing.
    expect(await outcomeOf(() => eve.chat.joinRoom.mutate({ roomId: secret.roomId }))).toEqual(
      await outcomeOf(() => eve.chat.joinRoom.mutate({ roomId: nothing.roomId })),
    );
    // Nothing eve tried changed ann's rooms, and the calls were well formed: ann succeeds.
    expect(await ann.chat.history.query({ roomId: secret.roomId })).toHaveLength(2);
    await expect(
      ann.chat.react.mutate({ messageId: secret.messageId, emoji: '👍' }),
    ).resolves.toEqual({ added: true });
  });
});

describe('what an outsider learns from notifications', () => {
  it('answers another user’s notification id as it answers one that does not exist', async () => {
    await using app = await startNotifyServer();
    const [ann, eve] = [app.client('ann'), app.client('eve')];
    await app.notifier.notify({ to: 'ann', category: 'x', title: 'private' });
    const [theirs] = (await ann.notifications.feed.query({ limit: 5 })).items;
    const nothing = String(Number(theirs!.id) + 1);
    for (const call of [
      (ids: string[]) => eve.notifications.markRead.mutate({ ids }),
      (ids: string[]) => eve.notifications.archive.mutate({ ids }),
    ]) {
      expect(await outcomeOf(() => call([theirs!.id]))).toEqual(
        await outcomeOf(() => call([nothing])),
      );
    }
    expect(await ann.notifications.unreadCount.query()).toBe(1);
  });
});
