import { timingSafeEqual } from 'node:crypto';
import { createDuplexAdmin, type DuplexAdmin } from '@duplex/admin';
import {
  type ChatLimits,
  type ChatStore,
  type ChatUser,
  createChatRouter,
  type Message,
} from '@duplex/chat';
import { createNotificationsRouter, type Notifier } from '@duplex/notifications';
import {
  type Authenticate,
  type Broker,
  createMemoryPresence,
  type DuplexContext,
  type DuplexErrorHandler,
  initDuplex,
  type Presence,
} from '@duplex/server';

/** A signed-in user; `admin` is the operator's token (the notify CLI), never a browser user. */
export interface AppUser extends ChatUser {
  admin: boolean;
}

export const duplex = initDuplex<AppUser>();

/**
 * The chat app's API: the chat and notifications modules, the operator's dashboard (`admin`),
 * plus who am I (`me`: the account id and display name).
 */
export function createAppRouter(
  store: ChatStore,
  notifier: Notifier,
  opts: {
    chatLimits?: Partial<ChatLimits>;
    /**
     * Who is online in each room. Give the dashboard (`admin`) the same one, so that its
     * Channels view shows who is present.
     * @default one in this process's memory, shared with the default dashboard
     */
    presence?: Presence;
    /** The server's `onError`, for the chat module's background failures. */
    onError?: DuplexErrorHandler<DuplexContext<AppUser>>;
    /** Stops the chat module's background work; aborted when the app closes. */
    signal?: AbortSignal;
    /**
     * The operator's dashboard (`admin.*`, for `user.admin` only).
     * @default one on the notifier's broker and the presence above, that reports no node
     * (nothing attached)
     */
    admin?: DuplexAdmin<AppUser>;
  } = {},
) {
  const { onError, signal } = opts;
  const presence = opts.presence ?? createMemoryPresence();
  const admin = opts.admin ?? createOperatorDashboard(notifier.broker, { presence });
  return duplex.router({
    me: duplex.procedure.query(({ ctx }) => ctx.user),
    chat: createChatRouter(duplex, {
      store,
      // The notifier's broker is the server's: one broker for every module.
      broker: notifier.broker,
      limits: opts.chatLimits ?? {},
      presence,
      ...(onError ? { onError } : {}),
      ...(signal ? { signal } : {}),
      // An invite names a person as typed ("Alan Turing", "alan-turing"): the account their
      // sign-in makes of that name, if the chat has seen it (see devAuthenticate).
      resolveUser: (typed) => store.getUser(userIdOf(typed)),
      // A notification that fails must not fail the invite or the send that caused it.
      onInvite: ({ roomId, roomName, userId, invitedBy }) =>
        reportFailure(
          notifier.notify({
            to: userId,
            category: 'chat.invite',
            priority: 'high',
            title: `${invitedBy.name} invited you to ${roomName}`,
            link: `/#room=${roomId}`,
            dedupeKey: `invite:${roomId}`,
          }),
        ),
      onMessage: async ({ message, roomName }) => {
        const mentioned = await mentionedMembers(store, message);
        if (mentioned.length === 0) return;
        await reportFailure(
          notifier.notify({
            to: mentioned,
            category: 'chat.mention',
            priority: 'normal',
            title: `${message.authorName} mentioned you in ${roomName}`,
            body: (message.text ?? '').slice(0, 280),
            link: `/#room=${message.roomId}`,
            dedupeKey: `mention:${message.id}`,
          }),
        );
      },
    }),
    notifications: createNotificationsRouter(duplex, {
      notifier,
      canNotify: (user) => user.admin,
    }),
    admin: admin.router(duplex),
  });
}

/**
 * The dashboard at `/admin/`, for the operator (`admin:<adminToken>`) only. With the chat's
 * `presence`, its Channels view shows who is in each room (`chat:room:<id>`).
 */
export function createOperatorDashboard(
  broker: Broker,
  opts: { onError?: DuplexErrorHandler<DuplexContext<AppUser>>; presence?: Presence } = {},
): DuplexAdmin<AppUser> {
  return createDuplexAdmin({
    authorize: (user: AppUser) => user.admin,
    broker,
    ...(opts.presence ? { presence: opts.presence } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}

export type AppRouter = ReturnType<typeof createAppRouter>;

const reportFailure = (work: Promise<unknown>) =>
  work.then(
    () => {},
    (error: unknown) => console.error('[chat] notification failed', error),
  );

/**
 * The members an `@name` in the message names: `@ada`, or `@Ada_Lovelace` for "Ada Lovelace"
 * (spaces as `_` or `-`, any case). The author is never notified of their own mention.
 */
export async function mentionedMembers(store: ChatStore, message: Message): Promise<string[]> {
  const handles = new Set(
    [...(message.text ?? '').matchAll(/(?:^|[^\p{L}\p{N}_])@([\p{L}\p{N}_.-]{1,32})/gu)].map((m) =>
      userIdOf(m[1]!),
    ),
  );
  if (handles.size === 0) return [];
  const members = await store.listMembers(message.roomId);
  return members
    .filter((m) => m.userId !== message.authorId && handles.has(userIdOf(m.name)))
    .map((m) => m.userId);
}

/**
 * The account a display name signs in to, and the handle that @mentions it: lower case, with
 * each run of spaces, `_` and `-` as one `-`. So "Ada Lovelace", "ada-lovelace", "ada_lovelace"
 * and "ADA  LOVELACE" are one account, `ada-lovelace`, whose handle is `@Ada_Lovelace` or
 * `@ada-lovelace`: one rule for both, so a mention never reaches two accounts.
 * @example userIdOf('ADA  Lovelace') // 'ada-lovelace'
 */
export const userIdOf = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '-');

const namePattern = /^[\p{L}\p{N} _.-]{1,32}$/u;
/** A name needs a letter or a digit: "-" or "..." would name no one. */
const hasLetterOrDigit = /[\p{L}\p{N}]/u;

/**
 * DEVELOPMENT ONLY: signs anyone in under the display name they send (the token *is* the name),
 * so two tabs can play two people. The account is {@link userIdOf} the name (spelling variants
 * of one name are one account, as with case-insensitive user names); `me` answers it, so a
 * client can show it. The display name is the name as sent, spaces collapsed. Replace it with real authentication (a session cookie, a
 * signed token) before exposing the server. `admin:<adminToken>` signs in the operator, who
 * may send notifications (see `examples/notify-cli`).
 */
export function devAuthenticate(adminToken: string): Authenticate<AppUser> {
  const admin = Buffer.from(`admin:${adminToken}`);
  return ({ connectionParams, req }) => {
    const raw = connectionParams?.token ?? req.headers.authorization?.replace(/^Bearer /, '');
    if (!raw) return null;
    const given = Buffer.from(raw);
    if (given.length === admin.length && timingSafeEqual(given, admin)) {
      return { user: { id: 'admin', name: 'Admin', admin: true } };
    }
    let name: string;
    try {
      name = decodeURIComponent(raw).trim().replace(/\s+/g, ' ');
    } catch {
      return null;
    }
    const id = userIdOf(name);
    // "Admin" is reserved for the operator.
    if (!namePattern.test(name) || !hasLetterOrDigit.test(name) || id === 'admin') return null;
    return { user: { id, name, admin: false } };
  };
}
