import {
  type Broker,
  type DuplexContext,
  type DuplexErrorHandler,
  type DuplexInstance,
  logErrorReport,
  type Presence,
} from '@duplex/server';
import { createKeyedBuckets } from '@duplex/server/internal';
import { TRPCError } from '@trpc/server';
import type { Announcer } from './announcer';
import { badRequest, noSuchMessage, noSuchRoom } from './chatErrors';
import type { ChatLimits } from './chatLimits';
import type { ChatRouterOptions } from './chatRouter';
import type { ChatStore } from './chatStore';
import { type ChatEvent, type Member, type Message, messageInput, roomInput } from './schemas';

/** The user fields the chat module needs from your `authenticate` result. */
export interface ChatUser {
  id: string;
  name: string;
}

/** Users one node remembers having recorded before it starts over (see `rememberCaller`). */
const rememberedUsersCap = 10_000;

/** The broker channel of a room's events. */
export const roomChannel = (roomId: string) => `chat:room:${roomId}`;

/** Per-key rate limits answered with `TOO_MANY_REQUESTS` and `message`. */
function createKeyedLimiter(ratePerSecond: number, capacity: number, message: string) {
  const buckets = createKeyedBuckets({ ratePerSecond, capacity });
  return {
    take(key: string) {
      if (!buckets.take(key)) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message });
    },
  };
}

/** What {@link createChatKit} builds the shared pieces from. */
export interface ChatKitOptions<TUser extends ChatUser> {
  duplex: DuplexInstance<TUser>;
  store: ChatStore;
  broker: Broker;
  presence: Presence;
  limits: ChatLimits;
  announcer: Announcer;
  onError: DuplexErrorHandler<DuplexContext<TUser>> | undefined;
  resolveUser: NonNullable<ChatRouterOptions<TUser>['resolveUser']>;
  onInvite: ChatRouterOptions<TUser>['onInvite'];
  onMessage: ChatRouterOptions<TUser>['onMessage'];
  signal: AbortSignal | undefined;
}

/**
 * What every part of the chat router shares: the store, the broker given at creation, the
 * membership middleware, the rate limits and the error hook.
 */
export function createChatKit<TUser extends ChatUser>(opts: ChatKitOptions<TUser>) {
  const { store, broker, limits, announcer } = opts;
  const { procedure } = opts.duplex;

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
  /**
   * Who this node has recorded in the store's directory (id → display name), so that a user
   * is written once, and again only when their name changes. Cleared when it grows past
   * {@link rememberedUsersCap}: a forgotten user is written again, which changes nothing.
   */
  const remembered = new Map<string, string>();
  /** Records the caller in the directory invites resolve against (see `rememberUser`). */
  const rememberCaller = async (user: ChatUser) => {
    if (remembered.get(user.id) === user.name) return;
    await store.rememberUser({ id: user.id, name: user.name });
    if (remembered.size >= rememberedUsersCap) remembered.clear();
    remembered.set(user.id, user.name);
  };
  const sendLimiter = createKeyedLimiter(
    limits.sendsPerSecond,
    limits.sendBurst,
    `Too many messages: at most ${limits.sendsPerSecond} per second`,
  );

  return {
    ...opts,
    procedure,
    /** Reports a background failure (`onError`, or the log when the app gave none). */
    report: opts.onError ?? (logErrorReport as DuplexErrorHandler<DuplexContext<TUser>>),
    /** Procedures of any signed-in user, who is recorded as seen (see `rememberUser`). */
    userProcedure: procedure.use(async ({ ctx, next }) => {
      await rememberCaller(ctx.user);
      return next();
    }),
    /** Procedures on one room: only its members get past, with `ctx.member`. */
    memberProcedure: procedure.input(roomInput).use(async ({ ctx, input, next }) => {
      await rememberCaller(ctx.user);
      return next({ ctx: { member: await requireMember(input.roomId, ctx.user.id) } });
    }),
    /** Procedures on one message: only members of its room get past, with `ctx.message` and `ctx.member`. */
    messageProcedure: procedure.input(messageInput).use(async ({ ctx, input, next }) => {
      await rememberCaller(ctx.user);
      return next({ ctx: await requireMessage(input.messageId, ctx.user.id) });
    }),
    requireMessage,
    async requireRoom(roomId: string) {
      const room = await store.getRoom(roomId);
      if (!room) throw noSuchRoom();
      return room;
    },
    async requireReplyTarget(roomId: string, replyTo: string | undefined) {
      if (!replyTo) return;
      const parent = await store.getMessage(replyTo);
      if (!parent || parent.roomId !== roomId)
        throw badRequest('replyTo is not a message of this room');
    },
    canModerate: (member: Member) => member.role === 'owner' || member.role === 'moderator',
    takeSend: (userId: string) => sendLimiter.take(userId),
    publish: (roomId: string, event: ChatEvent) =>
      broker.publish(roomChannel(roomId), event, {
        ephemeral: event.type === 'typing' || event.type === 'presence',
      }),
    /** Publishes `message.created` at most once; `true` if this call settled it. */
    announceCreated: (message: Message) =>
      announcer.announce(broker, {
        ref: { messageId: message.id, type: 'message.created' },
        channel: roomChannel(message.roomId),
        event: { type: 'message.created', message },
      }),
    createKeyedLimiter,
  };
}

/** The shared pieces of one chat router. */
export type ChatKit<TUser extends ChatUser> = ReturnType<typeof createChatKit<TUser>>;
