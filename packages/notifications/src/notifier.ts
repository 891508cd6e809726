import type { Broker } from '@duplex/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { type NotificationLimits, notificationLimitsDefaults } from './limits';
import type { NotificationStore } from './notificationStore';
import { deliveryOf } from './preferences';
import { type NotificationEvent, type NotifyInput, notifyInput } from './schemas';

/** The broker channel of one user's notification events. */
export const notificationChannel = (userId: string) => `notifications:user:${userId}`;

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  store: NotificationStore;
  /** The broker the Duplex server uses: live events reach the user's connections through it. */
  broker: Broker;
  /** See {@link NotificationLimits} for each default. */
  limits?: Partial<NotificationLimits>;
  /** The clock for quiet hours and retention; tests pass their own. */
  now?: () => Date;
  /** How long notifications are kept; see {@link NotificationRetention}. */
  retention?: Partial<NotificationRetention>;
}

/** How long notifications are kept by {@link Notifier.prune}. */
export interface NotificationRetention {
  /**
   * Read or archived notifications older than this are deleted.
   * @default 30 days
   */
  readMs: number;
  /**
   * Any notification older than this is deleted, read or not.
   * @default 180 days
   */
  maxAgeMs: number;
}

const day = 86_400_000;
/** Defaults of {@link NotificationRetention}. */
export const notificationRetentionDefaults: NotificationRetention = {
  readMs: 30 * day,
  maxAgeMs: 180 * day,
};

/** What one `notify` call did. */
export interface NotifyResult {
  /** Notifications stored (recipients who already had the `dedupeKey` are not counted). */
  created: number;
  /** Of those, pushed live (the rest wait in the feed, by the recipients' preferences). */
  pushed: number;
  /** The stored notifications' ids, oldest first. */
  ids: string[];
}

/** Publishes this many users' events at a time, so a huge `notify` stays bounded in memory. */
const publishConcurrency = 256;

/**
 * The server side of notifications: `notify` from any server code (a job, a webhook, the chat
 * module's hooks) with no client involved, and the events the router streams.
 * @example
 * ```ts
 * const broker = createMemoryBroker();
 * const notifier = createNotifier({ store: createMemoryNotificationStore(), broker });
 * await notifier.notify({ to: ['ada', 'grace'], category: 'deploy', priority: 'high', title: 'v2 is live' });
 * ```
 */
export function createNotifier(opts: NotifierOptions) {
  const { store, broker } = opts;
  const limits: NotificationLimits = { ...notificationLimitsDefaults, ...opts.limits };
  const now = opts.now ?? (() => new Date());
  const retention: NotificationRetention = { ...notificationRetentionDefaults, ...opts.retention };

  const publish = (userId: string, event: NotificationEvent) =>
    broker.publish(notificationChannel(userId), event);

  return {
    store,
    broker,
    limits,
    retention,
    publish,

    /**
     * Deletes what retention says has had its time; returns how many. Run it from a job (the
     * chat example runs it at start and every six hours). No event is sent for what it removes:
     * a badge that counted a pruned notification is lower at its next count.
     */
    prune(): Promise<number> {
      const at = now().getTime();
      return store.prune({
        readBefore: new Date(at - retention.readMs),
        before: new Date(at - retention.maxAgeMs),
      });
    },

    /**
     * Stores a notification for each recipient and pushes it live to those whose preferences
     * allow it. Throws a `TRPCError` `BAD_REQUEST` naming the broken limit on bad input.
     */
    async notify(input: NotifyInput): Promise<NotifyResult> {
      const parsed = notifyInput.safeParse(input);
      if (!parsed.success) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: z.prettifyError(parsed.error),
          cause: parsed.error,
        });
      }
      const n = parsed.data;
      const to = [...new Set(typeof n.to === 'string' ? [n.to] : n.to)];
      checkLimits(limits, n, to.length);

      const prefs = await store.getPreferences(to);
      const at = now();
      const pushed = new Set<string>();
      const recipients = to.map((userId) => {
        const delivery = deliveryOf(prefs.get(userId)!, n, at);
        if (delivery.pushed) pushed.add(userId);
        return { userId, counted: delivery.counted };
      });
      const created = await store.insert(
        {
          category: n.category,
          priority: n.priority,
          title: n.title,
          body: n.body ?? null,
          data: n.data ?? null,
          link: n.link ?? null,
          dedupeKey: n.dedupeKey ?? null,
        },
        recipients,
      );
      const live = created.filter((notification) => pushed.has(notification.userId));
      const counts = await store.unreadCounts(live.map((notification) => notification.userId));
      for (let i = 0; i < live.length; i += publishConcurrency) {
        await Promise.all(
          live.slice(i, i + publishConcurrency).map((notification) =>
            publish(notification.userId, {
              type: 'notification.created',
              notification,
              unreadCount: counts.get(notification.userId) ?? 0,
            }),
          ),
        );
      }
      return { created: created.length, pushed: live.length, ids: created.map((c) => c.id) };
    },
  };
}

/** The server-side notify API returned by {@link createNotifier}. */
export type Notifier = ReturnType<typeof createNotifier>;

function checkLimits(
  limits: NotificationLimits,
  n: { title: string; body?: string | undefined; data?: Record<string, unknown> | undefined },
  recipients: number,
) {
  const tooBig = (message: string) => new TRPCError({ code: 'BAD_REQUEST', message });
  if (recipients > limits.maxRecipients)
    throw tooBig(`Too many recipients: at most ${limits.maxRecipients} per call`);
  if (n.title.length > limits.maxTitleLength)
    throw tooBig(`Title too long: at most ${limits.maxTitleLength} characters`);
  if (n.body !== undefined && n.body.length > limits.maxBodyLength)
    throw tooBig(`Body too long: at most ${limits.maxBodyLength} characters`);
  if (
    n.data !== undefined &&
    Buffer.byteLength(JSON.stringify(n.data), 'utf8') > limits.maxDataBytes
  )
    throw tooBig(`Data too large: at most ${limits.maxDataBytes} bytes as JSON`);
}
