import { createChatRouter, createMemoryChatStore, type Message } from '@duplex/chat';
import { createMemoryBroker, initDuplex } from '@duplex/server';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChatProcedures, sideEffects } from './roomCache';

const broker = createMemoryBroker();
const chatRouter = createChatRouter(initDuplex<{ id: string; name: string }>(), {
  store: createMemoryChatStore(),
  broker,
});
afterEach(() => broker.close());

const at = new Date('2026-01-01T00:00:00Z');
const message = (id: string, authorId: string): Message => ({
  id,
  roomId: 'r',
  authorId,
  authorName: authorId,
  clientMsgId: `c${id}`,
  text: null,
  attachments: [],
  replyTo: null,
  reactions: {},
  createdAt: at,
  editedAt: null,
  deletedAt: at,
  stream: null,
});

/** A query cache holding a rooms answer in which room `r` has `unread` unread messages. */
function cacheWithUnread(unread: number) {
  const queryClient = new QueryClient();
  const chat = createTRPCOptionsProxy({
    router: chatRouter,
    ctx: {} as never,
    queryClient,
  }) as unknown as ChatProcedures;
  const key = chat.rooms.queryKey();
  queryClient.setQueryData(key, {
    mine: [
      {
        room: {
          id: 'r',
          name: 'r',
          visibility: 'public',
          ownerId: 'ada',
          createdAt: at,
        },
        role: 'member',
        unread,
        lastMessage: message('5', 'ada'),
      },
    ],
    discover: [],
  } as never);
  const invalidated = () => queryClient.getQueryState(key)?.isInvalidated ?? false;
  return { queryClient, chat, invalidated };
}

const me = { userId: 'grace', reading: false };

describe('sideEffects of a deletion', () => {
  it("asks the server again when someone else's message goes from a room with unread ones", () => {
    const { queryClient, chat, invalidated } = cacheWithUnread(2);
    sideEffects(
      queryClient,
      chat,
      'r',
      {
        type: 'message.deleted',
        message: message('5', 'ada'),
        deletedBy: 'ada',
      },
      me,
    );
    expect(invalidated()).toBe(true);
  });

  it('keeps the list when nothing unread can have gone', () => {
    const none = cacheWithUnread(0);
    sideEffects(
      none.queryClient,
      none.chat,
      'r',
      {
        type: 'message.deleted',
        message: message('5', 'ada'),
        deletedBy: 'ada',
      },
      me,
    );
    expect(none.invalidated()).toBe(false);
    const mine = cacheWithUnread(2);
    sideEffects(
      mine.queryClient,
      mine.chat,
      'r',
      {
        type: 'message.deleted',
        message: message('6', 'grace'),
        deletedBy: 'grace',
      },
      me,
    );
    expect(mine.invalidated()).toBe(false);
  });
});
