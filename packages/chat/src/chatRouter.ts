import {
  type Broker,
  backgroundError,
  createMemoryPresence,
  type DuplexContext,
  type DuplexErrorHandler,
  type DuplexInstance,
  type Presence,
} from '@duplex/server';
import { announcerDefaults, createAnnouncer } from './announcer';
import { type ChatUser, createChatKit } from './chatKit';
import { type ChatLimits, chatLimitsDefaults } from './chatLimits';
import type { ChatStore } from './chatStore';
import { createMessageProcedures } from './messageProcedures';
import { createRoomEvents } from './roomEvents';
import { createRoomProcedures } from './roomProcedures';
import type { Message } from './schemas';
import { createStreamProcedures } from './streamProcedures';

/** Options of {@link createChatRouter}. */
export interface ChatRouterOptions<TUser extends ChatUser = ChatUser> {
  store: ChatStore;
  /**
   * Where the room's events are published and read from: the broker you give
   * `createDuplexServer`. Every procedure uses this one, and so does the sweep that ends
   * abandoned streams, which runs outside any call.
   */
  broker: Broker;
  /**
   * Who is online in each room.
   * @default createMemoryPresence()
   */
  presence?: Presence;
  /** See {@link ChatLimits} for each default. */
  limits?: Partial<ChatLimits>;
  /**
   * Receives failures of work no caller waits on, as `source: 'background'` reports: the
   * stream sweep (`task: 'chat.streamSweep'`), presence (`'chat.presence'`, with the
   * subscriber's `ctx` and `input`), releasing an announcement claim (`'chat.announceRelease'`).
   * Pass the server's `onError`.
   * @default logs with console.error
   */
  onError?: DuplexErrorHandler<DuplexContext<TUser>>;
  /**
   * Who `chat.invite` names: what the inviter typed (a user id or a display name, trimmed) →
   * the user, or `null` when there is no such user (the invite then answers `NOT_FOUND`). Give
   * the rule your sign-in uses to turn a name into an account, so that an invite finds the
   * account the person signs in to; the chat example passes
   * `(typed) => store.getUser(userIdOf(typed))`. It may look the user up anywhere (your
   * accounts table); the store knows every user who made a chat call (`getUser`).
   * @default (typed) => store.getUser(typed): the users the chat has seen, by exact id
   */
  resolveUser?: (typed: string) => ChatUser | null | Promise<ChatUser | null>;
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
  /**
   * Stops the module's background work (the sweep that ends abandoned streamed replies) once
   * aborted. Abort it before closing the store when the process lives on after the chat (tests,
   * an app that restarts its server in process): a sweep on a closed store fails every few
   * seconds otherwise.
   */
  signal?: AbortSignal;
}

/**
 * The chat router, to mount as `chat` in your app router. Every procedure checks that the
 * caller may act on the room: only members read or write it, private rooms need an invitation,
 * edits are the author's, deletes the author's or a moderator's.
 * @example
 * ```ts
 * const duplex = initDuplex<{ id: string; name: string }>();
 * const store = await createSqlChatStore(await createPgliteDatabase({ dataDir: '.data' }));
 * const broker = createMemoryBroker();
 * export const appRouter = duplex.router({ chat: createChatRouter(duplex, { store, broker }) });
 * createDuplexServer({ router: appRouter, authenticate, broker });
 * ```
 */
export function createChatRouter<TUser extends ChatUser>(
  duplex: DuplexInstance<TUser>,
  opts: ChatRouterOptions<TUser>,
) {
  const { onError } = opts;
  const kit = createChatKit<TUser>({
    duplex,
    store: opts.store,
    broker: opts.broker,
    presence: opts.presence ?? createMemoryPresence(),
    limits: { ...chatLimitsDefaults, ...opts.limits },
    announcer: createAnnouncer({
      store: opts.store,
      leaseMs: opts.announceLeaseMs ?? announcerDefaults.leaseMs,
      onReleaseError: (error, ref) =>
        kit.report(backgroundError('chat.announceRelease', error, { input: ref })),
    }),
    onError,
    resolveUser: opts.resolveUser ?? ((typed) => opts.store.getUser(typed)),
    onInvite: opts.onInvite,
    onMessage: opts.onMessage,
    signal: opts.signal,
  });
  return duplex.router({
    ...createRoomProcedures(kit),
    ...createMessageProcedures(kit),
    ...createStreamProcedures(kit),
    ...createRoomEvents(kit),
  });
}

/** The type of the chat router, for type helpers. */
export type ChatRouter = ReturnType<typeof createChatRouter<ChatUser>>;
