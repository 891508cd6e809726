import type { ChatEvent, Member, Message, RoomSummary } from '@duplex/chat';

/** A message as a room shows it: stored, or sent and not yet confirmed (`pending`). */
export type ChatMessage = Message & {
  /** Sent from this page and not yet stored: its `id` is empty until the server answers. */
  pending?: boolean;
};

/** The loaded part of a room's history, oldest first, kept current by `chat.onEvent`. */
export interface RoomMessages {
  messages: ChatMessage[];
  /** Whether older messages than the first loaded one exist. */
  hasOlder: boolean;
}

/** Message ids are decimal strings without leading zeros: longer is newer, then by digits. */
export const compareIds = (a: string, b: string): number =>
  a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

const sameSend = (a: Message, b: Message) =>
  a.authorId === b.authorId && a.clientMsgId === b.clientMsgId;

/** Stored messages oldest first, then pending ones in the order they were sent. */
function ordered(messages: ChatMessage[]): ChatMessage[] {
  const stored = messages.filter((m) => !m.pending).sort((a, b) => compareIds(a.id, b.id));
  return [...stored, ...messages.filter((m) => m.pending)];
}

/** `message` stored: replaces the copy with its id, or the pending send it confirms. */
export function upsertMessage(data: RoomMessages, message: Message): RoomMessages {
  const rest = data.messages.filter(
    (m) => m.id !== message.id && !(m.pending && sameSend(m, message)),
  );
  return { ...data, messages: ordered([...rest, message]) };
}

/** Replaces a message already loaded; an update to a message not loaded is left out. */
function replaceLoaded(
  data: RoomMessages,
  id: string,
  update: (message: ChatMessage) => ChatMessage | null,
): RoomMessages {
  let changed = false;
  const messages = data.messages.map((m) => {
    if (m.id !== id || m.pending) return m;
    const next = update(m);
    if (next === null) return m;
    changed = true;
    return next;
  });
  return changed ? { ...data, messages } : data;
}

/**
 * Folds one `chat.onEvent` event into the loaded messages. Idempotent, as `useLiveQuery`
 * requires: a delta is appended only as the next chunk, a reaction sets rather than toggles.
 */
export function applyChatEvent(data: RoomMessages, event: ChatEvent): RoomMessages {
  switch (event.type) {
    case 'message.created':
      return upsertMessage(data, event.message);
    case 'message.delta':
      return replaceLoaded(data, event.messageId, (m) =>
        m.stream && event.seq === m.stream.chunks
          ? {
              ...m,
              text: (m.text ?? '') + event.text,
              stream: { ...m.stream, chunks: event.seq + 1 },
            }
          : null,
      );
    case 'message.streamEnded':
    case 'message.edited':
    case 'message.deleted':
      return replaceLoaded(data, event.message.id, () => event.message);
    case 'reaction':
      return replaceLoaded(data, event.messageId, (m) => {
        const users = m.reactions[event.emoji] ?? [];
        const next = event.added
          ? [...new Set([...users, event.userId])]
          : users.filter((u) => u !== event.userId);
        const reactions = { ...m.reactions, [event.emoji]: next };
        if (next.length === 0) delete reactions[event.emoji];
        return { ...m, reactions };
      });
    default:
      return data;
  }
}

/**
 * The newest page, fetched again, merged into what is loaded: older pages stay, a pending send
 * the page holds is confirmed, and a streamed reply the stream has taken further stays as it is.
 */
export function mergeNewestPage(
  data: RoomMessages | undefined,
  page: Message[],
  pageSize: number,
): RoomMessages {
  if (!data) return { messages: ordered(page), hasOlder: page.length === pageSize };
  let next = data;
  for (const message of page) {
    const known = next.messages.find((m) => m.id === message.id);
    if (known?.stream && (message.stream?.chunks ?? 0) < known.stream.chunks) continue;
    next = upsertMessage(next, message);
  }
  return next;
}

/** An older page, added below what is loaded. */
export function mergeOlderPage(
  data: RoomMessages,
  page: Message[],
  pageSize: number,
): RoomMessages {
  const known = new Set(data.messages.map((m) => m.id));
  return {
    messages: ordered([...data.messages, ...page.filter((m) => !known.has(m.id))]),
    hasOlder: page.length === pageSize,
  };
}

/**
 * The rooms list after `message` arrived in its room: it is the room's last message, and it
 * counts as unread when it is newer than the last one, someone else's, and nobody is reading.
 */
export function roomsAfterMessage<T extends { mine: RoomSummary[] }>(
  rooms: T,
  message: Message,
  opts: { userId: string; reading: boolean },
): T {
  return {
    ...rooms,
    mine: rooms.mine.map((s) => {
      if (s.room.id !== message.roomId) return s;
      if (s.lastMessage && compareIds(message.id, s.lastMessage.id) <= 0) return s;
      const counts = message.authorId !== opts.userId && !opts.reading;
      return { ...s, lastMessage: message, unread: counts ? s.unread + 1 : s.unread };
    }),
  };
}

/** A streamed message that is still streaming ranks below one that ended, then by chunks. */
const streamRank = (m: Message) =>
  m.stream ? (m.stream.state === 'streaming' ? m.stream.chunks : Number.MAX_SAFE_INTEGER) : 0;

/**
 * Which of two copies of one message (same id) is further along: positive when `a` is, 0 when
 * neither is. A deletion is final, a stream only moves forward (more chunks, then its end), an
 * edit is newer than the text before it.
 */
export function compareVersions(a: Message, b: Message): number {
  if ((a.deletedAt === null) !== (b.deletedAt === null)) return a.deletedAt ? 1 : -1;
  const streamed = streamRank(a) - streamRank(b);
  if (streamed !== 0) return streamed;
  return (a.editedAt?.getTime() ?? 0) - (b.editedAt?.getTime() ?? 0);
}

/** Applies `update` to the summary of `roomId`, keeping the list as is when nothing changed. */
function updateRoom<T extends { mine: RoomSummary[] }>(
  rooms: T,
  roomId: string,
  update: (summary: RoomSummary) => RoomSummary,
): T {
  let changed = false;
  const mine = rooms.mine.map((s) => {
    if (s.room.id !== roomId) return s;
    const next = update(s);
    if (next !== s) changed = true;
    return next;
  });
  return changed ? { ...rooms, mine } : rooms;
}

/**
 * The rooms list after one event of `roomId`'s stream. The room's preview (`lastMessage`)
 * follows its last message live: a new message, an edit, a deletion (the preview shows the
 * tombstone, `text: null` and `deletedAt` set, as `chat.rooms` does), a streamed reply's
 * chunks and its end. Unread counts move as {@link roomsAfterMessage} says. Idempotent: an
 * event replayed, or older than what the list shows, changes nothing.
 */
export function roomsAfterEvent<T extends { mine: RoomSummary[] }>(
  rooms: T,
  roomId: string,
  event: ChatEvent,
  opts: { userId: string; reading: boolean },
): T {
  switch (event.type) {
    case 'message.created':
      return roomsAfterMessage(rooms, event.message, opts);
    case 'message.delta':
      return updateRoom(rooms, roomId, (s) => {
        const last = s.lastMessage;
        if (last?.id !== event.messageId || last.stream?.state !== 'streaming') return s;
        if (event.seq !== last.stream.chunks) return s;
        return {
          ...s,
          lastMessage: {
            ...last,
            text: (last.text ?? '') + event.text,
            stream: { ...last.stream, chunks: event.seq + 1 },
          },
        };
      });
    case 'message.edited':
    case 'message.deleted':
    case 'message.streamEnded': {
      const message = event.message;
      return updateRoom(rooms, roomId, (s) => {
        const last = s.lastMessage;
        // A later message than the preview knew of (its creation was missed): it is the last.
        if (!last || compareIds(message.id, last.id) > 0) return { ...s, lastMessage: message };
        if (last.id !== message.id || compareVersions(message, last) < 0) return s;
        return { ...s, lastMessage: message };
      });
    }
    default:
      return rooms;
  }
}

/**
 * The rooms list `chat.rooms` answered, merged with the one shown: the answer wins, except a
 * preview the room's stream has taken further since the server read it (a newer message, a
 * stream's later chunks, an edit or a deletion) stays; with a newer message, so does the unread
 * count the stream kept (the answer predates that message). Without this a
 * refetch under way while a reply streams would set the preview back, and stop it there.
 */
export function mergeRoomsAnswer<T extends { mine: RoomSummary[] }>(
  shown: T | undefined,
  answer: T,
): T {
  if (!shown) return answer;
  const known = new Map(shown.mine.map((s) => [s.room.id, s]));
  let changed = false;
  const mine = answer.mine.map((s) => {
    const kept = known.get(s.room.id)?.lastMessage;
    const last = s.lastMessage;
    if (!kept) return s;
    if (!last || compareIds(kept.id, last.id) > 0) {
      changed = true;
      return { ...s, lastMessage: kept, unread: known.get(s.room.id)!.unread };
    }
    if (kept.id !== last.id || compareVersions(kept, last) <= 0) return s;
    changed = true;
    return { ...s, lastMessage: kept };
  });
  return changed ? { ...answer, mine } : answer;
}

/** The rooms list with `roomId` read up to its newest message. */
export function roomsAfterRead<T extends { mine: RoomSummary[] }>(rooms: T, roomId: string): T {
  return {
    ...rooms,
    mine: rooms.mine.map((s) => (s.room.id === roomId && s.unread > 0 ? { ...s, unread: 0 } : s)),
  };
}

/** The members after a `receipt`, `member.joined` or `member.left` event. */
export function applyMemberEvent(members: Member[], event: ChatEvent): Member[] {
  switch (event.type) {
    case 'receipt':
      return members.map((m) =>
        m.userId === event.userId &&
        (m.lastReadMessageId === null || compareIds(event.messageId, m.lastReadMessageId) > 0)
          ? { ...m, lastReadMessageId: event.messageId }
          : m,
      );
    case 'member.joined':
      return [...members.filter((m) => m.userId !== event.member.userId), event.member];
    case 'member.left':
      return members.filter((m) => m.userId !== event.userId);
    default:
      return members;
  }
}

/** When a room was last active: its last message, or its creation. */
export const roomActivity = (s: RoomSummary): number =>
  (s.lastMessage ?? s.room).createdAt.getTime();
