import type { ChatEvent, ChatRouter } from '@duplex/chat';
import type { QueryClient } from '@tanstack/react-query';
import type { TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { applyMemberEvent, type ChatMessage, roomsAfterEvent } from './roomMessages';

/** The chat module's procedures as `useTRPC()` shows them, wherever the app mounts them. */
export type ChatProcedures = TRPCOptionsProxy<ChatRouter>;

/** Who is typing in a room, until when (epoch ms). */
export interface TypingUser {
  userId: string;
  name: string;
  expiresAt: number;
}

/** An online member, as `presence` events list them. */
export interface OnlineUser {
  id: string;
  name: string;
}

/** Where a room's live state that has no procedure of its own sits in the query cache. */
export const localKey = (chat: ChatProcedures, kind: string, roomId: string) =>
  ['duplex.chat', chat.pathKey()[0], kind, roomId] as const;

/** The pending message a send shows until the server answers. */
export function pendingMessage(
  input: { roomId: string; clientMsgId: string; text?: string; replyTo?: string },
  author: { id: string; name: string },
): ChatMessage {
  return {
    id: '',
    roomId: input.roomId,
    authorId: author.id,
    authorName: author.name,
    clientMsgId: input.clientMsgId,
    text: input.text?.trim() || null,
    attachments: [],
    replyTo: input.replyTo ?? null,
    reactions: {},
    createdAt: new Date(),
    editedAt: null,
    deletedAt: null,
    stream: null,
    pending: true,
  };
}

/**
 * What one event changes outside the messages: the rooms list (previews, unread counts),
 * members, typing, presence.
 */
export function sideEffects(
  queryClient: QueryClient,
  chat: ChatProcedures,
  roomId: string,
  event: ChatEvent,
  me: { userId: string; reading: boolean },
) {
  switch (event.type) {
    case 'message.created':
      queryClient.setQueryData(chat.rooms.queryKey(), (rooms) =>
        rooms ? roomsAfterEvent(rooms, roomId, event, me) : rooms,
      );
      queryClient.setQueryData<TypingUser[]>(localKey(chat, 'typing', roomId), (typing) =>
        typing?.filter((t) => t.userId !== event.message.authorId),
      );
      return;
    case 'message.deleted': {
      const key = chat.rooms.queryKey();
      const summary = queryClient.getQueryData(key)?.mine.find((s) => s.room.id === roomId);
      queryClient.setQueryData(key, (rooms) =>
        rooms ? roomsAfterEvent(rooms, roomId, event, me) : rooms,
      );
      // The server counts no deleted message as unread, and only it knows whether this one
      // was: someone else's deletion in a room with unread messages asks it again.
      if (summary && summary.unread > 0 && event.message.authorId !== me.userId) {
        void queryClient.invalidateQueries({ queryKey: key });
      }
      return;
    }
    // The room's preview in the rooms list follows its last message.
    case 'message.edited':
    case 'message.delta':
    case 'message.streamEnded':
      queryClient.setQueryData(chat.rooms.queryKey(), (rooms) =>
        rooms ? roomsAfterEvent(rooms, roomId, event, me) : rooms,
      );
      return;
    case 'receipt':
    case 'member.joined':
    case 'member.left':
      queryClient.setQueryData(chat.members.queryKey({ roomId }), (members) =>
        members ? applyMemberEvent(members, event) : members,
      );
      if (event.type === 'member.left' && event.userId === me.userId)
        void queryClient.invalidateQueries({ queryKey: chat.rooms.queryKey() });
      return;
    case 'typing':
      queryClient.setQueryData<TypingUser[]>(localKey(chat, 'typing', roomId), (typing = []) => [
        ...typing.filter((t) => t.userId !== event.userId),
        { userId: event.userId, name: event.name, expiresAt: event.expiresAt.getTime() },
      ]);
      return;
    case 'presence':
      queryClient.setQueryData<OnlineUser[]>(localKey(chat, 'presence', roomId), event.online);
      return;
    default:
      return;
  }
}
