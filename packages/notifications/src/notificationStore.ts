import type { Notification, Preferences, Priority } from './schemas';

/** The fields one `notify` call shares across its recipients. */
export interface NotificationContent {
  category: string;
  priority: Priority;
  title: string;
  body: string | null;
  data: Record<string, unknown> | null;
  link: string | null;
  dedupeKey: string | null;
}

/**
 * Where notifications and preferences live. Two implementations:
 * {@link createMemoryNotificationStore} (tests, demos) and {@link createSqlNotificationStore}
 * (PGlite or PostgreSQL). Every read and write is scoped to one user; authorization is the
 * router's job.
 */
export interface NotificationStore {
  /**
   * Stores one notification per recipient in one batch. A recipient who already has one with
   * the same `dedupeKey` gets nothing new. Returns only the notifications created.
   */
  insert(
    content: NotificationContent,
    recipients: readonly { userId: string; counted: boolean }[],
  ): Promise<Notification[]>;
  /** Newest first, older than `before` when given; archived ones are left out. */
  feed(
    userId: string,
    page: { before?: string | undefined; limit: number; unreadOnly: boolean },
  ): Promise<Notification[]>;
  /** Unread, unarchived notifications that count toward the badge, per user (0 if none). */
  unreadCounts(userIds: readonly string[]): Promise<Map<string, number>>;
  /** Marks the user's own notifications read; returns the ids that changed. */
  markRead(userId: string, ids: readonly string[]): Promise<string[]>;
  /** Marks all of the user's notifications read; returns how many changed. */
  markAllRead(userId: string): Promise<number>;
  /** Archives the user's own notifications (out of the feed, never counted); returns the ids that changed. */
  archive(userId: string, ids: readonly string[]): Promise<string[]>;
  /**
   * Deletes notifications that have had their time: read or archived ones created before
   * `readBefore`, and any created before `before`. Returns how many went.
   */
  prune(cutoffs: { readBefore: Date; before: Date }): Promise<number>;
  /** Each user's preferences; defaults for a user who never set any. */
  getPreferences(userIds: readonly string[]): Promise<Map<string, Preferences>>;
  setPreferences(userId: string, prefs: Preferences): Promise<void>;
}
