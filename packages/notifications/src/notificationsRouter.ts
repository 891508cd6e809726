import { type DuplexInstance, streamChannel } from '@duplex/server';
import { TRPCError } from '@trpc/server';
import { type Notifier, notificationChannel } from './notifier';
import {
  type FeedPage,
  feedInput,
  idsInput,
  type NotificationEvent,
  notifyInput,
  onNotificationInput,
  type Preferences,
  preferencesSchema,
} from './schemas';

/** The user fields the notifications module needs from your `authenticate` result. */
export interface NotificationsUser {
  id: string;
}

/** Options of {@link createNotificationsRouter}. */
export interface NotificationsRouterOptions<TUser> {
  /** From {@link createNotifier}; must share the Duplex server's broker. */
  notifier: Notifier;
  /**
   * Who may call `notifications.notify` from a client. Without it nobody may: server code uses
   * `notifier.notify` directly.
   */
  canNotify?: (user: TUser) => boolean | Promise<boolean>;
}

/**
 * The notifications router, to mount as `notifications` in your app router. Every procedure
 * reads and changes only the caller's own notifications and preferences.
 * @example
 * ```ts
 * const notifier = createNotifier({ store, broker });
 * export const appRouter = duplex.router({
 *   notifications: createNotificationsRouter(duplex, { notifier }),
 * });
 * ```
 */
export function createNotificationsRouter<TUser extends NotificationsUser>(
  duplex: DuplexInstance<TUser>,
  opts: NotificationsRouterOptions<TUser>,
) {
  const { notifier } = opts;
  const { store, limits } = notifier;
  const { procedure } = duplex;

  const tooMany = (what: string, max: number) =>
    new TRPCError({ code: 'BAD_REQUEST', message: `Too many ${what}: at most ${max} per call` });
  const unreadCountOf = async (userId: string) =>
    (await store.unreadCounts([userId])).get(userId) ?? 0;
  /** Tells the user's other connections (tabs, devices) what changed. */
  const announce = async (userId: string, event: NotificationEvent) => {
    await notifier.publish(userId, event);
    return { unreadCount: event.unreadCount };
  };

  return duplex.router({
    feed: procedure.input(feedInput).query(async ({ ctx, input }): Promise<FeedPage> => {
      if (input.limit > limits.maxPageSize) throw tooMany('notifications', limits.maxPageSize);
      const items = await store.feed(ctx.user.id, {
        before: input.cursor,
        limit: input.limit,
        unreadOnly: input.unreadOnly,
      });
      return {
        items,
        nextCursor: items.length === input.limit ? (items.at(-1)?.id ?? null) : null,
      };
    }),

    unreadCount: procedure.query(({ ctx }) => unreadCountOf(ctx.user.id)),

    markRead: procedure.input(idsInput).mutation(async ({ ctx, input }) => {
      if (input.ids.length > limits.maxIdsPerCall) throw tooMany('ids', limits.maxIdsPerCall);
      const ids = await store.markRead(ctx.user.id, input.ids);
      const unreadCount = await unreadCountOf(ctx.user.id);
      if (ids.length === 0) return { unreadCount };
      return announce(ctx.user.id, { type: 'notification.read', ids, unreadCount });
    }),

    markAllRead: procedure.mutation(async ({ ctx }) => {
      const changed = await store.markAllRead(ctx.user.id);
      const unreadCount = await unreadCountOf(ctx.user.id);
      if (changed === 0) return { unreadCount };
      return announce(ctx.user.id, { type: 'notification.read', ids: 'all', unreadCount });
    }),

    archive: procedure.input(idsInput).mutation(async ({ ctx, input }) => {
      if (input.ids.length > limits.maxIdsPerCall) throw tooMany('ids', limits.maxIdsPerCall);
      const ids = await store.archive(ctx.user.id, input.ids);
      const unreadCount = await unreadCountOf(ctx.user.id);
      if (ids.length === 0) return { unreadCount };
      return announce(ctx.user.id, { type: 'notification.archived', ids, unreadCount });
    }),

    preferences: procedure.query(
      async ({ ctx }): Promise<Preferences> =>
        (await store.getPreferences([ctx.user.id])).get(ctx.user.id)!,
    ),

    setPreferences: procedure
      .input(preferencesSchema)
      .mutation(async ({ ctx, input }): Promise<Preferences> => {
        await store.setPreferences(ctx.user.id, input);
        return input;
      }),

    notify: procedure.input(notifyInput).mutation(async ({ ctx, input }) => {
      if (!(await opts.canNotify?.(ctx.user))) {
        throw new TRPCError({
          code: 'FORBIDDEN',
          message: 'You may not send notifications',
        });
      }
      return notifier.notify(input);
    }),

    onNotification: procedure.input(onNotificationInput).subscription(({ ctx, input, signal }) => {
      if (ctx.broker !== notifier.broker) {
        throw new Error(
          'notifications: createNotifier({ broker }) must be the broker given to createDuplexServer',
        );
      }
      return streamChannel<NotificationEvent>(ctx.broker, notificationChannel(ctx.user.id), {
        lastEventId: input.lastEventId,
        signal,
      });
    }),
  });
}

/** The type of the notifications router, for type helpers. */
export type NotificationsRouter = ReturnType<typeof createNotificationsRouter<NotificationsUser>>;
