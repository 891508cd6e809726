import type { Message, RoomSummary } from '@duplex/chat';
import { idempotent } from '@duplex/client';
import {
  type QueryKey,
  replaceEqualDeep,
  skipToken,
  type UseQueryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { asError } from '../moduleKit';
import { useConnectionStatus } from '../useConnectionStatus';
import { useLiveQuery } from '../useLiveQuery';
import { useOptimisticMutation } from '../useOptimisticMutation';
import {
  type ChatProcedures,
  localKey,
  type OnlineUser,
  pendingMessage,
  sideEffects,
  type TypingUser,
} from './roomCache';
import {
  applyChatEvent,
  type ChatMessage,
  mergeNewestPage,
  mergeOlderPage,
  mergeRoomsAnswer,
  type RoomMessages,
  roomActivity,
  roomsAfterRead,
} from './roomMessages';

export type { ChatProcedures, OnlineUser, TypingUser };

/** What `structuralSharing` of the rooms list handles of it. */
type Rooms = { mine: RoomSummary[] };

/** Defaults of the chat hooks' options. */
export interface ChatHooksOptions {
  /** Messages per history page. @default 40 */
  pageSize: number;
  /** At most one typing signal per room this often. @default 2000 */
  typingThrottleMs: number;
  /** Discover (public rooms) has no live feed: the rooms list is fetched again this often. @default 15000 */
  roomsRefetchMs: number;
}

/** The chat hooks' defaults. */
export const chatHooksDefaults: ChatHooksOptions = {
  pageSize: 40,
  typingThrottleMs: 2_000,
  roomsRefetchMs: 15_000,
};

/**
 * The user's rooms (most recently active first, with unread counts) and public rooms to join.
 * Discover has no live feed: it is fetched again every `refetchMs` and when the connection
 * comes back. Unread counts and each room's preview (`lastMessage`) move live with the room's
 * {@link useRoomMessages}: new messages, edits, deletions (the preview is then the tombstone,
 * `text: null` with `deletedAt`) and streamed replies chunk by chunk. A refetch never sets a
 * preview back behind what the room's stream has shown.
 * @example
 * ```tsx
 * const trpc = useTRPC();
 * const { mine, discover } = useRooms(trpc.chat);
 * ```
 */
export function useRooms(chat: ChatProcedures, opts: { refetchMs?: number } = {}) {
  const queryClient = useQueryClient();
  const query = useQuery({
    ...chat.rooms.queryOptions(),
    refetchInterval: opts.refetchMs ?? chatHooksDefaults.roomsRefetchMs,
    // An answer read before the latest events keeps the previews those events made.
    structuralSharing: (shown: unknown, answer: unknown) =>
      replaceEqualDeep(shown, mergeRoomsAnswer(shown as Rooms | undefined, answer as Rooms)),
    select: (rooms) => ({
      ...rooms,
      mine: [...rooms.mine].sort((a, b) => roomActivity(b) - roomActivity(a)),
    }),
  });
  // Unread counts and Discover may have changed while the connection was down.
  const state = useConnectionStatus().state;
  const wasDown = useRef(false);
  useEffect(() => {
    if (state === 'open' && wasDown.current)
      void queryClient.invalidateQueries({ queryKey: chat.rooms.queryKey() });
    wasDown.current = state === 'reconnecting' || state === 'offline';
  }, [state, queryClient, chat]);
  return {
    mine: query.data?.mine ?? [],
    discover: query.data?.discover ?? [],
    error: asError(query.error),
    refetch: () => void query.refetch(),
  };
}

/** What {@link useRoomMessages} returns. */
export interface RoomMessagesResult {
  /** Loaded messages, oldest first; pending sends last. */
  messages: ChatMessage[];
  /** Whether older messages than the first loaded one exist. */
  hasOlder: boolean;
  /** Whether a page (the first, or an older one) is loading. */
  loadingOlder: boolean;
  /** Loads the page before the oldest loaded message. */
  loadOlder: () => Promise<void>;
  /** The latest failure: loading, the stream, or marking the room read. */
  error: Error | null;
}

/**
 * A room's messages, live: the newest page, then `chat.onEvent` folded in (new messages,
 * streamed deltas by `seq`, edits, deletes, reactions; a gap refetches), older pages on demand,
 * and the rooms list, members, receipts, typing and presence kept current from the same
 * stream. Mount it once per room the user is in: it is the room's one subscription. While
 * `reading`, the room is marked read as messages arrive.
 * @example
 * ```tsx
 * const trpc = useTRPC();
 * const { messages, loadOlder } = useRoomMessages(trpc.chat, roomId, { userId, reading: true });
 * ```
 */
export function useRoomMessages(
  chat: ChatProcedures,
  roomId: string,
  opts: { userId: string; reading: boolean; pageSize?: number },
): RoomMessagesResult {
  const { userId, reading } = opts;
  const pageSize = opts.pageSize ?? chatHooksDefaults.pageSize;
  const queryClient = useQueryClient();
  const key = localKey(chat, 'messages', roomId);
  const latest = useRef({ userId, reading });
  latest.current = { userId, reading };
  const [older, setOlder] = useState<{ loading: boolean; error: Error | null }>({
    loading: false,
    error: null,
  });

  const query: UseQueryOptions<RoomMessages, Error, RoomMessages, QueryKey> = {
    queryKey: key,
    queryFn: async (): Promise<RoomMessages> => {
      const page = await queryClient.fetchQuery({
        ...chat.history.queryOptions({ roomId, limit: pageSize }),
        staleTime: 0,
      });
      return mergeNewestPage(queryClient.getQueryData(key), page, pageSize);
    },
  };
  const live = useLiveQuery({
    query,
    subscription: chat.onEvent.subscriptionOptions({ roomId }),
    apply: (data: RoomMessages, item) => applyChatEvent(data, item.data),
    onEvent: (item) => sideEffects(queryClient, chat, roomId, item.data, latest.current),
  });
  const data = live.data;
  // Events were lost: the messages are fetched again by `useLiveQuery`, the rest here.
  const gap = live.live.gap;
  const gapKeys = useRef<QueryKey[]>([]);
  gapKeys.current = [chat.members.queryKey({ roomId }), chat.rooms.queryKey()];
  useEffect(() => {
    if (!gap) return;
    for (const queryKey of gapKeys.current)
      void queryClient.invalidateQueries({ queryKey, exact: true });
  }, [gap, queryClient]);
  // Observed while the stream runs, so what it keeps is never garbage-collected under it.
  useLocal<OnlineUser[]>(chat, 'presence', roomId, []);
  useLocal<TypingUser[]>(chat, 'typing', roomId, []);

  const markRead = useMutation(chat.markRead.mutationOptions());
  const newest = data?.messages.findLast((m) => !m.pending)?.id;
  const marked = useRef<string | null>(null);
  const mutate = markRead.mutate;
  useEffect(() => {
    if (!reading || !newest || marked.current === newest) return;
    marked.current = newest;
    queryClient.setQueryData(chat.rooms.queryKey(), (rooms) =>
      rooms ? roomsAfterRead(rooms, roomId) : rooms,
    );
    mutate({ roomId, messageId: newest });
  }, [reading, newest, roomId, queryClient, chat, mutate]);

  const loadOlder = async () => {
    const current = queryClient.getQueryData<RoomMessages>(key);
    const oldest = current?.messages.find((m) => !m.pending)?.id;
    if (!current?.hasOlder || older.loading) return;
    setOlder({ loading: true, error: null });
    try {
      const page = await queryClient.fetchQuery({
        ...chat.history.queryOptions({
          roomId,
          limit: pageSize,
          ...(oldest ? { before: oldest } : {}),
        }),
        staleTime: 0,
      });
      queryClient.setQueryData<RoomMessages>(key, (d) =>
        d ? mergeOlderPage(d, page, pageSize) : d,
      );
      setOlder({ loading: false, error: null });
    } catch (error) {
      setOlder({ loading: false, error: asError(error) });
    }
  };
  return {
    messages: data?.messages ?? [],
    hasOlder: data?.hasOlder ?? true,
    loadingOlder: older.loading || live.isPending,
    loadOlder,
    error: asError(live.error ?? live.live.error) ?? older.error ?? asError(markRead.error),
  };
}

/** The room's members; their `lastReadMessageId` moves with `receipt` events. */
export function useMembers(chat: ChatProcedures, roomId: string) {
  return (
    useQuery({ ...chat.members.queryOptions({ roomId }), staleTime: Number.POSITIVE_INFINITY })
      .data ?? []
  );
}

/**
 * Who has seen each message: message id → names, leaving out `userId` (nobody is told they saw
 * something) and the message's author.
 */
export function useReceipts(
  chat: ChatProcedures,
  roomId: string,
  opts: { userId: string; messages: Message[] },
) {
  const { userId, messages } = opts;
  const members = useMembers(chat, roomId);
  const authors = new Map(messages.map((m) => [m.id, m.authorId]));
  const readers = new Map<string, string[]>();
  for (const m of members) {
    const at = m.lastReadMessageId;
    if (!at || m.userId === userId || authors.get(at) === m.userId) continue;
    readers.set(at, [...(readers.get(at) ?? []), m.name]);
  }
  return readers;
}

/** Live-only state the room's stream keeps in the query cache (typing, presence). */
function useLocal<T>(chat: ChatProcedures, kind: string, roomId: string, empty: T): T {
  return (
    useQuery<T>({
      queryKey: localKey(chat, kind, roomId),
      queryFn: skipToken,
      staleTime: Number.POSITIVE_INFINITY,
    }).data ?? empty
  );
}

/**
 * Who else is typing in the room (expired signals drop out on time), and `notify()` to say this
 * user is, at most once per `throttleMs` (and at once again after they send).
 */
export function useTyping(
  chat: ChatProcedures,
  roomId: string,
  opts: { userId: string; throttleMs?: number },
) {
  const { userId } = opts;
  const throttleMs = opts.throttleMs ?? chatHooksDefaults.typingThrottleMs;
  const all = useLocal<TypingUser[]>(chat, 'typing', roomId, []);
  const [now, setNow] = useState(() => Date.now());
  const typing = all.filter((t) => t.userId !== userId && t.expiresAt > now);
  const nextExpiry = Math.min(...typing.map((t) => t.expiresAt));
  useEffect(() => {
    if (!Number.isFinite(nextExpiry)) return;
    const timer = setTimeout(() => setNow(Date.now()), Math.max(0, nextExpiry - Date.now()));
    return () => clearTimeout(timer);
  }, [nextExpiry]);
  const signal = useMutation(chat.typing.mutationOptions());
  const sentAt = useRef(0);
  const notify = () => {
    const at = Date.now();
    if (at - sentAt.current < throttleMs) return;
    sentAt.current = at;
    signal.mutate({ roomId });
  };
  // Someone who just sent a message is typing anew from the next keystroke.
  const mine = useLocal<number>(chat, 'sent', roomId, 0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when this user sends, which `mine` counts
  useEffect(() => {
    sentAt.current = 0;
  }, [mine]);
  return { typing, notify, error: asError(signal.error) };
}

/** Who is online in the room, as its stream last said. */
export function usePresence(chat: ChatProcedures, roomId: string) {
  return useLocal<OnlineUser[]>(chat, 'presence', roomId, []);
}

/**
 * Sends a message: shown at once as pending, confirmed in place once stored, removed if the call
 * fails. The call is idempotent on its `clientMsgId`: sent again after a reconnect, it is stored
 * and shown once.
 * @example
 * ```tsx
 * const { send } = useSendMessage(trpc.chat, roomId, me);
 * await send({ text: 'Hello' });
 * ```
 */
export function useSendMessage(
  chat: ChatProcedures,
  roomId: string,
  author: { id: string; name: string },
) {
  const queryClient = useQueryClient();
  const key = localKey(chat, 'messages', roomId);
  const mutation = useOptimisticMutation(chat.send.mutationOptions({ trpc: idempotent }), {
    queryKey: key,
    apply: (data: RoomMessages, input) =>
      data.messages.some((m) => m.authorId === author.id && m.clientMsgId === input.clientMsgId)
        ? data
        : {
            ...data,
            messages: [...data.messages, pendingMessage(input, author)],
          },
    confirm: (data, _input, message) => applyChatEvent(data, { type: 'message.created', message }),
    revert: (data, input) => ({
      ...data,
      messages: data.messages.filter((m) => !(m.pending && m.clientMsgId === input.clientMsgId)),
    }),
  });
  const send = async (input: { text?: string; attachments?: string[]; replyTo?: string }) => {
    const message = await mutation.mutateAsync({
      roomId,
      clientMsgId: crypto.randomUUID(),
      ...input,
    });
    queryClient.setQueryData(localKey(chat, 'sent', roomId), Date.now());
    return message;
  };
  return { send, isPending: mutation.isPending, error: asError(mutation.error) };
}
