import { randomUUID } from 'node:crypto';
import {
  type Broker,
  createMemoryPresence,
  type DuplexInstance,
  type Presence,
  streamChannel,
} from '@duplex/server';
import { createKeyedBuckets } from '@duplex/server/internal';
import { TRPCError } from '@trpc/server';
import { announcerDefaults, createAnnouncer } from './announcer';
import { type ChatLimits, chatLimitsDefaults } from './chatLimits';
import type { ChatStore } from './chatStore';
import {
  appendStreamInput,
  type ChatEvent,
  createRoomInput,
  editInput,
  finishStreamInput,
  historyInput,
  inviteInput,
  type Member,
  type Message,
  markReadInput,
  messageInput,
  onEventInput,
  reactInput,
  roomInput,
  type StreamState,
  sendInput,
  setRoleInput,
  startStreamInput,
} from './schemas';

/** The user fields the chat module needs from your `authenticate` result. */
export interface ChatUser {
  id: string;
  name: string;
}

/** Options of {@link createChatRouter}. */
export interface ChatRouterOptions {
  store: ChatStore;
  /**
   * Who is online in each room.
   * @default createMemoryPresence()
   */
  presence?: Presence;
  /** See {@link ChatLimits} for each default. */
  limits?: Partial<ChatLimits>;
  /** Called after a user is invited to a room (e.g. to notify them). */
  onInvite?: (event: {
    roomId: string;
    roomName: string;
    userId: string;
    invitedBy: ChatUser;
  }) => void | Promise<void>;
  /**
   * Called once a message is stored and announced, by the call that announced it (e.g. to
   * notify @mentioned users). A hook that must never repeat should still be idempotent on the
   * message id: a node can die after announcing and before its hook ran, or during the hook.
   */
  onMessage?: (event: { message: Message; roomName: string }) => void | Promise<void>;
  /**
   * How long one attempt holds the right to announce a message's creation, stream end or
   * deletion before another attempt may take over (the holder died or hangs). Longer than a
   * publish may take: the Redis broker gives up on a command after `commandTimeoutMs` (5 s).
   * @default 10_000
   */
  announceLeaseMs?: number;
}

/** The broker channel of a room's events. */
export const roomChannel = (roomId: string) => `chat:room:${roomId}`;

const forbidden = (message: string) => new TRPCError({ code: 'FORBIDDEN', message });
const notFound = (message: string) => new TRPCError({ code: 'NOT_FOUND', message });
/** The one answer for a room the caller is not in, whether it exists or not. */
const noSuchRoom = () => notFound('No such room, or you have not joined it');
/** The one answer for a message in a room the caller is not in, whether it exists or not. */
const noSuchMessage = () => notFound('No such message, or you have not joined its room');
const badRequest = (message: string) => new TRPCError({ code: 'BAD_REQUEST', message });
const conflict = (message: string) => new TRPCError({ code: 'CONFLICT', message });

/** Per-key rate limits answered with `TOO_MANY_REQUESTS` and `message`. */
function createKeyedLimiter(ratePerSecond: number, capacity: number, message: string) {
  const buckets = createKeyedBuckets({ ratePerSecond, capacity });
  return {
    take(key: string) {
      if (!buckets.take(key)) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message });
    },
  };
}

/**
 * The chat router, to mount as `chat` in your app router. Every procedure checks that the
 * caller may act on the room: only members read or write it, private rooms need an invitation,
 * edits are the author's, deletes the author's or a moderator's.
 * @example
 * ```ts
 * const duplex = initDuplex<{ id: string; name: string }>();
 * const store = await createSqlChatStore(await createPgliteDatabase({ dataDir: '.data' }));
 * export const appRouter = duplex.router({ chat: createChatRouter(duplex, { store }) });
 * ```
 */
export function createChatRouter<TUser extends ChatUser>(
  duplex: DuplexInstance<TUser>,
  opts: ChatRouterOptions,
) {
  const { store } = opts;
  const limits: ChatLimits = { ...chatLimitsDefaults, ...opts.limits };
  const announcer = createAnnouncer({
    store,
    leaseMs: opts.announceLeaseMs ?? announcerDefaults.leaseMs,
  });
  const presence = opts.presence ?? createMemoryPresence();
  const { procedure } = duplex;

  const publish = (broker: Broker, roomId: string, event: ChatEvent) =>
    broker.publish(roomChannel(roomId), event, {
      ephemeral: event.type === 'typing' || event.type === 'presence',
    });

  /** Publishes `message.created` at most once; `true` if this call settled it. */
  const announceCreated = (broker: Broker, message: Message) =>
    announcer.announce(broker, {
      ref: { messageId: message.id, type: 'message.created' },
      channel: roomChannel(message.roomId),
      event: { type: 'message.created', message },
    });

  const requireRoom = async (roomId: string) => {
    const room = await store.getRoom(roomId);
    if (!room) throw noSuchRoom();
    return room;
  };
  /**
   * The caller's membership. Everyone else gets the answer a room that does not exist gets,
   * public rooms too: ids are guessable, so any difference would reveal private rooms.
   */
  const requireMember = async (roomId: string, userId: string): Promise<Member> => {
    const member = await store.getMember(roomId, userId);
    if (!member) throw noSuchRoom();
    return member;
  };
  /**
   * The message and the caller's membership of its room. Message ids are sequential: a
   * different answer for a message in a room the caller is not in would let them count a
   * private room's messages.
   */
  const requireMessage = async (messageId: string, userId: string) => {
    const message = await store.getMessage(messageId);
    const member = message && (await store.getMember(message.roomId, userId));
    if (!message || !member) throw noSuchMessage();
    return { message, member };
  };
  /** Procedures on one room: only its members get past, with `ctx.member`. */
  const memberProcedure = procedure
    .input(roomInput)
    .use(async ({ ctx, input, next }) =>
      next({ ctx: { member: await requireMember(input.roomId, ctx.user.id) } }),
    );
  /** Procedures on one message: only members of its room get past, with `ctx.message` and `ctx.member`. */
  const messageProcedure = procedure
    .input(messageInput)
    .use(async ({ ctx, input, next }) =>
      next({ ctx: await requireMessage(input.messageId, ctx.user.id) }),
    );
  const requireReplyTarget = async (roomId: string, replyTo: string | undefined) => {
    if (!replyTo) return;
    const parent = await store.getMessage(replyTo);
    if (!parent || parent.roomId !== roomId)
      throw badRequest('replyTo is not a message of this room');
  };
  const canModerate = (member: Member) => member.role === 'owner' || member.role === 'moderator';

  const sendLimiter = createKeyedLimiter(
    limits.sendsPerSecond,
    limits.sendBurst,
    `Too many messages: at most ${limits.sendsPerSecond} per second`,
  );
  const takeSend = (userId: string) => sendLimiter.take(userId);
  const chunkLimiter = createKeyedLimiter(
    limits.chunksPerSecond,
    limits.chunkBurst,
    `Too many chunks: at most ${limits.chunksPerSecond} per second per stream`,
  );

  /**
   * Ends a stream and tells the room, once: a stream that had ended already is announced now
   * only if no attempt did it before (the one that ended it failed to publish).
   */
  const endStream = async (
    broker: Broker,
    messageId: string,
    state: Exclude<StreamState, 'streaming'>,
    endedBy: string | null,
  ) => {
    const result = await store.endStream(messageId, state);
    if (!result) throw badRequest('Not a streamed message');
    if (result.ended) activeStreams.delete(messageId);
    await announcer.announce(broker, {
      ref: { messageId, type: 'message.streamEnded' },
      channel: roomChannel(result.message.roomId),
      event: { type: 'message.streamEnded', message: result.message, endedBy },
    });
    return result.message;
  };

  /**
   * Ends streams whose producer went silent or ran too long. Runs while this node has streams
   * of its own, and once whenever a stream starts, so streams of a node that died are ended by
   * the next node that runs one.
   */
  const activeStreams = new Set<string>();
  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  const sweep = async (broker: Broker) => {
    const now = Date.now();
    const stale = await store.staleStreams({
      idleSince: new Date(now - limits.streamIdleTimeoutMs),
      startedBefore: new Date(now - limits.maxStreamDurationMs),
    });
    for (const id of stale) await endStream(broker, id, 'interrupted', null);
    if (activeStreams.size === 0 && sweepTimer) {
      clearInterval(sweepTimer);
      sweepTimer = undefined;
    }
  };
  const watchStream = (broker: Broker, messageId: string) => {
    activeStreams.add(messageId);
    if (sweepTimer) return;
    const every = Math.min(limits.streamIdleTimeoutMs, limits.maxStreamDurationMs) / 4;
    sweepTimer = setInterval(
      () => void sweep(broker).catch(() => {}),
      Math.max(50, Math.min(every, 5_000)),
    );
    sweepTimer.unref();
  };

  const onlineSnapshot = async (roomId: string): Promise<ChatEvent> => ({
    type: 'presence',
    online: (await presence.members(roomChannel(roomId))).map(({ id, name }) => ({ id, name })),
  });
  /** Tells the room who is online; best effort (presence is ephemeral, the next change fixes it). */
  const announcePresence = (broker: Broker, roomId: string) =>
    onlineSnapshot(roomId)
      .then((event) => publish(broker, roomId, event))
      .catch(() => {});

  return duplex.router({
    createRoom: procedure.input(createRoomInput).mutation(({ ctx, input }) =>
      store.createRoom({
        id: randomUUID(),
        ...input,
        ownerId: ctx.user.id,
        ownerName: ctx.user.name,
      }),
    ),

    joinRoom: procedure.input(roomInput).mutation(async ({ ctx, input }) => {
      const room = await requireRoom(input.roomId);
      const existing = await store.getMember(room.id, ctx.user.id);
      if (existing) return existing;
      if (room.visibility === 'private' && !(await store.hasInvite(room.id, ctx.user.id))) {
        throw noSuchRoom();
      }
      const { member, added } = await store.addMember(room.id, {
        userId: ctx.user.id,
        name: ctx.user.name,
        role: 'member',
      });
      if (added) await publish(ctx.broker, room.id, { type: 'member.joined', member });
      return member;
    }),

    leaveRoom: memberProcedure.mutation(async ({ ctx, input }) => {
      if (ctx.member.role === 'owner') throw forbidden('The owner cannot leave the room');
      // Only the call that removed them says so: overlapping leaves announce it once.
      if (await store.removeMember(input.roomId, ctx.user.id)) {
        await publish(ctx.broker, input.roomId, { type: 'member.left', userId: ctx.user.id });
      }
      return { left: true as const };
    }),

    invite: memberProcedure.input(inviteInput).mutation(async ({ ctx, input }) => {
      if (!canModerate(ctx.member)) throw forbidden('Only the owner and moderators can invite');
      const room = await requireRoom(input.roomId);
      await store.addInvite(room.id, input.userId, ctx.user.id);
      await opts.onInvite?.({
        roomId: room.id,
        roomName: room.name,
        userId: input.userId,
        invitedBy: ctx.user,
      });
      return { invited: true as const };
    }),

    setRole: memberProcedure.input(setRoleInput).mutation(async ({ ctx, input }) => {
      if (ctx.member.role !== 'owner') throw forbidden('Only the owner can change roles');
      if (input.userId === ctx.user.id) throw badRequest('The owner keeps the owner role');
      const changed = await store.setRole(input.roomId, input.userId, input.role);
      if (!changed) throw notFound('No such member');
      return changed;
    }),

    rooms: procedure.query(async ({ ctx }) => {
      const mine = await store.listRoomsOf(ctx.user.id);
      const joined = new Set(mine.map((s) => s.room.id));
      const discover = (await store.listPublicRooms(limits.discoverLimit + joined.size))
        .filter((r) => !joined.has(r.id))
        .slice(0, limits.discoverLimit);
      return { mine, discover };
    }),

    members: memberProcedure.query(({ input }) => store.listMembers(input.roomId)),

    send: memberProcedure.input(sendInput).mutation(async ({ ctx, input }) => {
      const text = input.text?.trim() || null;
      if (text && text.length > limits.maxTextLength) {
        throw badRequest(`Message too long: at most ${limits.maxTextLength} characters`);
      }
      const attachmentIds = [...new Set(input.attachments ?? [])];
      if (attachmentIds.length > limits.maxAttachmentsPerMessage) {
        throw badRequest(`Too many attachments: at most ${limits.maxAttachmentsPerMessage}`);
      }
      const found = await store.getAttachments(attachmentIds);
      if (found.length !== attachmentIds.length || found.some((a) => a.ownerId !== ctx.user.id)) {
        throw badRequest('Unknown attachment: upload it first');
      }
      await requireReplyTarget(input.roomId, input.replyTo);
      takeSend(ctx.user.id);
      const { message, announced } = await store.appendMessage({
        roomId: input.roomId,
        authorId: ctx.user.id,
        authorName: ctx.member.name,
        clientMsgId: input.clientMsgId,
        text,
        attachmentIds,
        replyTo: input.replyTo ?? null,
      });
      // Not yet announced (new, or a first attempt failed or is in flight): at most once.
      if (!announced && (await announceCreated(ctx.broker, message))) {
        if (opts.onMessage) {
          const room = await store.getRoom(input.roomId);
          await opts.onMessage({ message, roomName: room?.name ?? '' });
        }
      }
      return message;
    }),

    edit: messageProcedure.input(editInput).mutation(async ({ ctx, input }) => {
      const { message } = ctx;
      if (message.authorId !== ctx.user.id) throw forbidden('Only the author can edit a message');
      if (input.text.length > limits.maxTextLength) {
        throw badRequest(`Message too long: at most ${limits.maxTextLength} characters`);
      }
      const edited = await store.editMessage(message.id, input.text);
      if (!edited) throw notFound('The message was deleted');
      await publish(ctx.broker, message.roomId, { type: 'message.edited', message: edited });
      return edited;
    }),

    delete: messageProcedure.mutation(async ({ ctx }) => {
      const { message, member } = ctx;
      if (message.authorId !== ctx.user.id && !canModerate(member)) {
        throw forbidden('Only the author or a moderator can delete a message');
      }
      // Deleted already: announced still, once, in case the call that deleted it failed to.
      const deleted = (await store.deleteMessage(message.id))!;
      await announcer.announce(ctx.broker, {
        ref: { messageId: message.id, type: 'message.deleted' },
        channel: roomChannel(message.roomId),
        event: { type: 'message.deleted', message: deleted, deletedBy: ctx.user.id },
      });
      return deleted;
    }),

    react: messageProcedure.input(reactInput).mutation(async ({ ctx, input }) => {
      const { message } = ctx;
      const result = await store.toggleReaction(message.id, ctx.user.id, input.emoji);
      if (!result) throw notFound('The message was deleted');
      await publish(ctx.broker, message.roomId, {
        type: 'reaction',
        messageId: message.id,
        emoji: input.emoji,
        userId: ctx.user.id,
        added: result.added,
      });
      return result;
    }),

    history: memberProcedure
      .input(historyInput)
      .query(({ input }) =>
        store.history(input.roomId, { before: input.before, limit: input.limit }),
      ),

    typing: memberProcedure.mutation(async ({ ctx, input }) => {
      const expiresAt = new Date(Date.now() + limits.typingTtlMs);
      await publish(ctx.broker, input.roomId, {
        type: 'typing',
        userId: ctx.user.id,
        name: ctx.user.name,
        expiresAt,
      });
      return { expiresAt };
    }),

    markRead: memberProcedure.input(markReadInput).mutation(async ({ ctx, input }) => {
      const message = await store.getMessage(input.messageId);
      if (message?.roomId !== input.roomId) throw notFound('No such message in this room');
      const { moved } = await store.markRead(input.roomId, ctx.user.id, message.id);
      if (moved)
        await publish(ctx.broker, input.roomId, {
          type: 'receipt',
          userId: ctx.user.id,
          messageId: message.id,
        });
      return { moved };
    }),

    startStream: memberProcedure.input(startStreamInput).mutation(async ({ ctx, input }) => {
      await requireReplyTarget(input.roomId, input.replyTo);
      takeSend(ctx.user.id);
      const { message, announced } = await store.appendMessage({
        roomId: input.roomId,
        authorId: ctx.user.id,
        authorName: ctx.member.name,
        clientMsgId: input.clientMsgId,
        text: '',
        attachmentIds: [],
        replyTo: input.replyTo ?? null,
        streaming: true,
      });
      if (!message.stream) throw badRequest('clientMsgId belongs to an ordinary message');
      if (!announced && (await announceCreated(ctx.broker, message))) {
        await sweep(ctx.broker).catch(() => {});
      }
      if (message.stream.state === 'streaming') watchStream(ctx.broker, message.id);
      return message;
    }),

    appendStream: procedure.input(appendStreamInput).mutation(async ({ ctx, input }) => {
      chunkLimiter.take(`${ctx.user.id}\u0000${input.messageId}`);
      // The happy path is one statement; when it refuses, the message says why.
      const appended = await store.appendChunk({
        messageId: input.messageId,
        authorId: ctx.user.id,
        seq: input.seq,
        text: input.text,
        maxTextLength: limits.maxStreamTextLength,
        startedAfter: new Date(Date.now() - limits.maxStreamDurationMs),
      });
      if (appended) {
        await publish(ctx.broker, appended.roomId, {
          type: 'message.delta',
          messageId: input.messageId,
          seq: input.seq,
          text: input.text,
        });
        return { chunks: appended.chunks };
      }
      const { message } = await requireMessage(input.messageId, ctx.user.id);
      if (message.authorId !== ctx.user.id) throw forbidden('Only the producer can append');
      const stream = message.stream;
      if (!stream) throw badRequest('Not a streamed message');
      // A retry of a chunk that is already in: the answer it would have had.
      if (input.seq < stream.chunks) return { chunks: stream.chunks };
      if (stream.state !== 'streaming') throw conflict(`The stream has ended: ${stream.state}`);
      if (input.seq > stream.chunks) throw conflict(`Chunk ${stream.chunks} comes first`);
      if (Date.now() - message.createdAt.getTime() >= limits.maxStreamDurationMs) {
        await endStream(ctx.broker, message.id, 'interrupted', null);
        throw conflict('The stream has ended: interrupted');
      }
      if ((message.text ?? '').length + input.text.length > limits.maxStreamTextLength) {
        throw badRequest(`Message too long: at most ${limits.maxStreamTextLength} characters`);
      }
      // Nothing refused it by now: it lost a race (an end, a delete); the caller tries again.
      throw conflict('The stream changed; send the chunk again');
    }),

    finishStream: messageProcedure.input(finishStreamInput).mutation(async ({ ctx, input }) => {
      const { message } = ctx;
      if (message.authorId !== ctx.user.id) throw forbidden('Only the producer can finish');
      return endStream(ctx.broker, message.id, input.state, ctx.user.id);
    }),

    cancelStream: messageProcedure.mutation(async ({ ctx }) => {
      const { message, member } = ctx;
      const asker = message.replyTo ? (await store.getMessage(message.replyTo))?.authorId : null;
      if (message.authorId !== ctx.user.id && asker !== ctx.user.id && !canModerate(member)) {
        throw forbidden('Only the asker, the producer or a moderator can cancel a stream');
      }
      return endStream(ctx.broker, message.id, 'cancelled', ctx.user.id);
    }),

    onEvent: memberProcedure.input(onEventInput).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      const channel = roomChannel(input.roomId);
      let joined: Awaited<ReturnType<Presence['join']>> | null = null;
      const stream = streamChannel<ChatEvent>(ctx.broker, channel, {
        lastEventId: input.lastEventId,
        signal,
        onOpen: async () => {
          // Presence is best effort: with its store down (Redis), messages still flow.
          joined = await presence
            .join(channel, { id: ctx.user.id, name: ctx.user.name }, ctx.connection.id)
            .catch(() => null);
          // Sent on every subscribe, so the new subscriber learns who is here.
          await announcePresence(ctx.broker, input.roomId);
        },
      });
      try {
        for await (const envelope of stream) {
          yield envelope;
          const event = envelope[1];
          // A member who left (or was removed) stops reading the room.
          if ('type' in event && event.type === 'member.left' && event.userId === ctx.user.id)
            return;
        }
      } finally {
        const left = await (joined as Awaited<ReturnType<Presence['join']>> | null)
          ?.leave()
          .catch(() => null);
        if (left?.last) await announcePresence(ctx.broker, input.roomId);
      }
    }),
  });
}

/** The type of the chat router, for type helpers. */
export type ChatRouter = ReturnType<typeof createChatRouter<ChatUser>>;
