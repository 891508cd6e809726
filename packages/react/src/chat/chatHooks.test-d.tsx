import {
  type ChatRouterOptions,
  createChatRouter,
  type Member,
  type Message,
  type Room,
  type RoomSummary,
} from '@duplex/chat';
import { createNotificationsRouter, type NotificationsRouterOptions } from '@duplex/notifications';
import type { DuplexInstance } from '@duplex/server';
import { describe, expectTypeOf, it } from 'vitest';
import { createDuplexReact } from '../createDuplexReact';
import {
  type ChatMessage,
  type OnlineUser,
  type TypingUser,
  useMembers,
  usePresence,
  useReceipts,
  useRoomMessages,
  useRooms,
  useSendMessage,
  useTyping,
} from './index';

declare const duplex: DuplexInstance<{ id: string; name: string; admin: boolean }>;
declare const chatOptions: ChatRouterOptions;
declare const notificationOptions: NotificationsRouterOptions<{ id: string }>;
// Mounted under a key of the app's choosing, beside other procedures.
const appRouter = duplex.router({
  me: duplex.procedure.query(({ ctx }) => ctx.user),
  talk: createChatRouter(duplex, chatOptions),
  inbox: createNotificationsRouter(duplex, notificationOptions),
});
type AppRouter = typeof appRouter;
const { useTRPC } = createDuplexReact<AppRouter>();

describe('chat hooks', () => {
  const trpc = useTRPC();

  it('accept the chat module wherever it is mounted, and nothing else', () => {
    useRooms(trpc.talk);
    // @ts-expect-error the notifications module is not the chat module
    useRooms(trpc.inbox);
    // @ts-expect-error a single procedure is not the chat module
    useRooms(trpc.me);
    // @ts-expect-error no such key
    useRooms(trpc.chat);
  });

  it('infer the rooms list and a room messages from the chat module', () => {
    const rooms = useRooms(trpc.talk);
    expectTypeOf(rooms.mine).toEqualTypeOf<RoomSummary[]>();
    expectTypeOf(rooms.discover).toEqualTypeOf<Room[]>();
    const room = useRoomMessages(trpc.talk, 'r', { userId: 'ada', reading: true });
    expectTypeOf(room.messages).toEqualTypeOf<ChatMessage[]>();
    expectTypeOf(room.messages[0]!.createdAt).toEqualTypeOf<Date>();
    expectTypeOf(room.messages[0]!.pending).toEqualTypeOf<boolean | undefined>();
    expectTypeOf(room.loadOlder).returns.resolves.toBeVoid();
    // @ts-expect-error reading is required
    useRoomMessages(trpc.talk, 'r', { userId: 'ada' });
  });

  it('type members, receipts, typing and presence', () => {
    expectTypeOf(useMembers(trpc.talk, 'r')).toEqualTypeOf<Member[]>();
    expectTypeOf(useReceipts(trpc.talk, 'r', { userId: 'ada', messages: [] })).toEqualTypeOf<
      Map<string, string[]>
    >();
    expectTypeOf(useTyping(trpc.talk, 'r', { userId: 'ada' }).typing).toEqualTypeOf<TypingUser[]>();
    expectTypeOf(usePresence(trpc.talk, 'r')).toEqualTypeOf<OnlineUser[]>();
    // @ts-expect-error a room id is a string
    usePresence(trpc.talk, 1);
  });

  it('sends with the module input and resolves to the stored message', () => {
    const { send } = useSendMessage(trpc.talk, 'r', { id: 'ada', name: 'Ada' });
    expectTypeOf(send({ text: 'hi' })).resolves.toEqualTypeOf<Message>();
    send({ attachments: ['a'.repeat(22)] });
    // @ts-expect-error text is a string
    send({ text: 1 });
    // @ts-expect-error the room and the idempotency key come from the hook
    send({ text: 'hi', roomId: 'other' });
  });
});
