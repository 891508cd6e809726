import { z } from 'zod';

/** Hard ceilings of the wire format; the configurable limits ({@link NotificationLimits}) sit below. */
const ceilings = { title: 1_000, body: 10_000, recipients: 100_000, ids: 1_000, page: 500 };

/** From least to most pressing; preferences compare by this order. */
export const priorities = ['low', 'normal', 'high', 'urgent'] as const;
export const prioritySchema = z.enum(priorities);
export type Priority = z.infer<typeof prioritySchema>;

/** e.g. `chat.mention`, `billing`, `deploy.failed`. */
export const categorySchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'A category is 1–64 of a-z, 0-9, ".", "_", "-"');
export const notificationIdSchema = z.string().regex(/^\d{1,19}$/, 'Not a notification id');
const userIdSchema = z.string().min(1).max(200);

/** A path on this site (`/rooms/1`) or an `http(s)` URL; never `javascript:` or `data:`. */
export const linkSchema = z
  .string()
  .max(2_048)
  .refine(
    (link) => (link.startsWith('/') && !link.startsWith('//')) || /^https?:\/\/[^\s]+$/i.test(link),
    'A link is a path starting with "/" or an http(s) URL',
  );

/** What `notify` sends, to one user or many. */
export const notifyInput = z.object({
  to: z.union([userIdSchema, z.array(userIdSchema).min(1).max(ceilings.recipients)]),
  category: categorySchema,
  priority: prioritySchema.default('normal'),
  title: z.string().trim().min(1).max(ceilings.title),
  body: z.string().max(ceilings.body).optional(),
  data: z.record(z.string(), z.json()).optional(),
  link: linkSchema.optional(),
  /** A second notify with the same key is a no-op for every user who already has it. */
  dedupeKey: z.string().min(1).max(200).optional(),
});
export type NotifyInput = z.input<typeof notifyInput>;

/** One user's notification, as stored and as delivered. */
export interface Notification {
  id: string;
  userId: string;
  category: string;
  priority: Priority;
  title: string;
  body: string | null;
  data: Record<string, unknown> | null;
  link: string | null;
  createdAt: Date;
  readAt: Date | null;
  /** Whether it counts toward the unread badge (decided by preferences when it was sent). */
  counted: boolean;
}

const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'A time is "HH:MM", 00:00–23:59');
const timeZoneSchema = z.string().refine((timeZone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}, 'Not an IANA time zone (e.g. "Europe/Berlin")');

/** A user's notification preferences; see `docs/notifications.md` for the exact rule. */
export const preferencesSchema = z.object({
  /** Category → on/off; a category not listed is on. */
  categories: z.record(categorySchema, z.boolean()).default({}),
  /** Notifications below this priority are stored but neither pushed nor counted. */
  minPriority: prioritySchema.default('low'),
  /** Between `start` and `end` (in `timeZone`, may wrap midnight) only `urgent` is pushed live. */
  quietHours: z
    .object({ start: timeOfDay, end: timeOfDay, timeZone: timeZoneSchema })
    .nullable()
    .default(null),
});
export type Preferences = z.infer<typeof preferencesSchema>;
export const defaultPreferences: Preferences = {
  categories: {},
  minPriority: 'low',
  quietHours: null,
};

export const feedInput = z.object({
  /** The `nextCursor` of the previous page. */
  cursor: notificationIdSchema.optional(),
  limit: z.number().int().min(1).max(ceilings.page).default(20),
  unreadOnly: z.boolean().default(false),
});
export type FeedInput = z.input<typeof feedInput>;
export interface FeedPage {
  items: Notification[];
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  nextCursor: string | null;
}

export const idsInput = z.object({
  ids: z.array(notificationIdSchema).min(1).max(ceilings.ids),
});
export const onNotificationInput = z.object({ lastEventId: z.string().nullish() });

/** What `notifications.onNotification` streams to the user's connections. */
export type NotificationEvent =
  | { type: 'notification.created'; notification: Notification; unreadCount: number }
  | { type: 'notification.read'; ids: string[] | 'all'; unreadCount: number }
  | { type: 'notification.archived'; ids: string[]; unreadCount: number };
