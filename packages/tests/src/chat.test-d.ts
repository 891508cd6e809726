import type {
  ChatEvent,
  InviteResult,
  Member,
  Message,
  Room,
  RoomSummary,
  StreamState,
} from '@duplex/chat';
import { createChatRouter, createMemoryChatStore } from '@duplex/chat';
import { createDuplexClient, idempotent, type StreamGap } from '@duplex/client';
import { createMemoryBroker, initDuplex } from '@duplex/server';
import { describe, expectTypeOf, it } from 'vitest';
import { type ChatApp, createChatApp } from './chatFixtures';

const client = createDuplexClient<ChatApp>({ url: 'ws://127.0.0.1:1/trpc' });

describe('chat procedures through the client', () => {
  it('types room procedures', () => {
    expectTypeOf(
      client.chat.createRoom.mutate({ name: 'a', visibility: 'public' }),
    ).resolves.toEqualTypeOf<Room>();
    expectTypeOf(client.chat.joinRoom.mutate({ roomId: 'r' })).resolves.toEqualTypeOf<Member>();
    expectTypeOf(client.chat.leaveRoom.mutate({ roomId: 'r' })).resolves.toEqualTypeOf<{
      left: true;
    }>();
    expectTypeOf(
      client.chat.invite.mutate({ roomId: 'r', userId: 'Alan Turing' }),
    ).resolves.toEqualTypeOf<InviteResult>();
    expectTypeOf<InviteResult>().toEqualTypeOf<{
      status: 'invited' | 'member';
      user: { id: string; name: string };
    }>();
    // @ts-expect-error the invitee is named by `userId` (an id or a display name)
    void client.chat.invite.mutate({ roomId: 'r', name: 'Alan Turing' });
    expectTypeOf(client.chat.rooms.query()).resolves.toEqualTypeOf<{
      mine: RoomSummary[];
      discover: Room[];
    }>();
    expectTypeOf(client.chat.members.query({ roomId: 'r' })).resolves.toEqualTypeOf<Member[]>();
    // @ts-expect-error visibility is 'public' | 'private'
    void client.chat.createRoom.mutate({ name: 'a', visibility: 'secret' });
    // @ts-expect-error roles are 'moderator' | 'member' (there is one owner)
    void client.chat.setRole.mutate({ roomId: 'r', userId: 'u', role: 'owner' });
  });

  it('types message procedures', () => {
    expectTypeOf(
      client.chat.send.mutate({ roomId: 'r', clientMsgId: 'c', text: 'hi' }, idempotent),
    ).resolves.toEqualTypeOf<Message>();
    expectTypeOf(
      client.chat.edit.mutate({ messageId: '1', text: 'x' }),
    ).resolves.toEqualTypeOf<Message>();
    expectTypeOf(client.chat.delete.mutate({ messageId: '1' })).resolves.toEqualTypeOf<Message>();
    expectTypeOf(client.chat.react.mutate({ messageId: '1', emoji: '👍' })).resolves.toEqualTypeOf<{
      added: boolean;
    }>();
    expectTypeOf(client.chat.history.query({ roomId: 'r' })).resolves.toEqualTypeOf<Message[]>();
    expectTypeOf(
      client.chat.markRead.mutate({ roomId: 'r', messageId: '1' }),
    ).resolves.toEqualTypeOf<{ moved: boolean }>();
    expectTypeOf(client.chat.typing.mutate({ roomId: 'r' })).resolves.toEqualTypeOf<{
      expiresAt: Date;
    }>();
    // @ts-expect-error clientMsgId is required: it makes retries safe
    void client.chat.send.mutate({ roomId: 'r', text: 'hi' });
    // @ts-expect-error attachments are ids (strings)
    void client.chat.send.mutate({ roomId: 'r', clientMsgId: 'c', attachments: [1] });
    // @ts-expect-error history's cursor is a message id string
    void client.chat.history.query({ roomId: 'r', before: 5 });
  });

  it('types streamed-message procedures', () => {
    expectTypeOf(
      client.chat.startStream.mutate({ roomId: 'r', clientMsgId: 'c', replyTo: '1' }),
    ).resolves.toEqualTypeOf<Message>();
    expectTypeOf(
      client.chat.appendStream.mutate({ messageId: '1', seq: 0, text: 'hi' }, idempotent),
    ).resolves.toEqualTypeOf<{ chunks: number }>();
    expectTypeOf(
      client.chat.finishStream.mutate({ messageId: '1', state: 'failed' }),
    ).resolves.toEqualTypeOf<Message>();
    expectTypeOf(
      client.chat.cancelStream.mutate({ messageId: '1' }),
    ).resolves.toEqualTypeOf<Message>();
    expectTypeOf<NonNullable<Message['stream']>['state']>().toEqualTypeOf<StreamState>();
    // @ts-expect-error seq is a number
    void client.chat.appendStream.mutate({ messageId: '1', seq: '0', text: 'hi' });
    // @ts-expect-error a producer finishes as done or failed; cancelling is cancelStream
    void client.chat.finishStream.mutate({ messageId: '1', state: 'cancelled' });
  });

  it('types the event stream as a discriminated union, plus gaps', () => {
    client.chat.onEvent.subscribe(
      { roomId: 'r' },
      {
        onData({ id, data }) {
          expectTypeOf(id).toEqualTypeOf<string>();
          expectTypeOf(data).toEqualTypeOf<ChatEvent | StreamGap>();
          if ('type' in data && data.type === 'message.created')
            expectTypeOf(data.message).toEqualTypeOf<Message>();
          if ('type' in data && data.type === 'message.delta')
            expectTypeOf(data.seq).toEqualTypeOf<number>();
          if ('type' in data && data.type === 'message.streamEnded')
            expectTypeOf(data.endedBy).toEqualTypeOf<string | null>();
          if ('type' in data && data.type === 'typing')
            expectTypeOf(data.expiresAt).toEqualTypeOf<Date>();
          // @ts-expect-error no such event type
          if ('type' in data && data.type === 'message.sent') void data;
        },
      },
    );
    // @ts-expect-error roomId is required
    client.chat.onEvent.subscribe({}, { onData() {} });
  });

  it('types resolveUser as what the inviter typed to a user or null, sync or not', () => {
    const store = createMemoryChatStore();
    const broker = createMemoryBroker();
    const duplex = initDuplex<{ id: string; name: string; admin: boolean }>();
    createChatRouter(duplex, { store, broker, resolveUser: (typed) => store.getUser(typed) });
    createChatRouter(duplex, { store, broker, resolveUser: () => null });
    createChatRouter(duplex, { store, broker, resolveUser: (id) => ({ id, name: id }) });
    // @ts-expect-error it answers a user ({ id, name }), not an id
    createChatRouter(duplex, { store, broker, resolveUser: (typed) => typed });
  });

  it('requires a user with id and name to mount the module', () => {
    createChatApp(createMemoryChatStore());
    const nameless = initDuplex<{ id: string }>();
    // @ts-expect-error the chat module shows names: the user type needs `name`
    createChatRouter(nameless, { store: createMemoryChatStore(), broker: createMemoryBroker() });
  });
});
