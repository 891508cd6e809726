import { migrate, type SqlDatabase } from '@duplex/sql';
import { notificationMigrations } from './notificationMigrations';
import type { NotificationStore } from './notificationStore';
import {
  defaultPreferences,
  type Notification,
  type Preferences,
  type Priority,
  preferencesSchema,
} from './schemas';

interface NotificationRow {
  id: string;
  user_id: string;
  category: string;
  priority: Priority;
  title: string;
  body: string | null;
  data: Record<string, unknown> | null;
  link: string | null;
  counted: boolean;
  created_at: Date;
  read_at: Date | null;
}

const columns =
  'id::text AS id, user_id, category, priority, title, body, data, link, counted, created_at, read_at';
const toNotification = (r: NotificationRow): Notification => ({
  id: r.id,
  userId: r.user_id,
  category: r.category,
  priority: r.priority,
  title: r.title,
  body: r.body,
  data: r.data,
  link: r.link,
  createdAt: r.created_at,
  readAt: r.read_at,
  counted: r.counted,
});

/**
 * A {@link NotificationStore} on SQL: embedded PGlite or PostgreSQL. Runs its migrations on
 * creation. One `notify` to thousands of users is one `INSERT … SELECT FROM unnest(…)`. The
 * database stays yours to close (the chat store may share it).
 * @example
 * ```ts
 * const store = await createSqlNotificationStore(await createPgliteDatabase({ dataDir: '.data' }));
 * ```
 */
export async function createSqlNotificationStore(db: SqlDatabase): Promise<NotificationStore> {
  await migrate(db, notificationMigrations);

  return {
    async insert(content, recipients) {
      if (recipients.length === 0) return [];
      const rows = await db.query<NotificationRow>(
        `INSERT INTO notifications
           (user_id, counted, category, priority, title, body, data, link, dedupe_key)
         SELECT r.user_id, r.counted, $3, $4, $5, $6, $7::jsonb, $8, $9
         FROM unnest($1::text[], $2::boolean[]) AS r (user_id, counted)
         ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
         RETURNING ${columns}`,
        [
          recipients.map((r) => r.userId),
          recipients.map((r) => r.counted),
          content.category,
          content.priority,
          content.title,
          content.body,
          content.data === null ? null : JSON.stringify(content.data),
          content.link,
          content.dedupeKey,
        ],
      );
      return rows.map(toNotification).sort((a, b) => Number(a.id) - Number(b.id));
    },
    async feed(userId, { before, limit, unreadOnly }) {
      const rows = await db.query<NotificationRow>(
        `SELECT ${columns} FROM notifications
         WHERE user_id = $1 AND archived_at IS NULL
           AND ($2::bigint IS NULL OR id < $2::bigint)
           AND (NOT $3 OR read_at IS NULL)
         ORDER BY notifications.id DESC LIMIT $4`,
        [userId, before ?? null, unreadOnly, limit],
      );
      return rows.map(toNotification);
    },
    async unreadCounts(userIds) {
      const counts = new Map(userIds.map((userId) => [userId, 0]));
      if (userIds.length === 0) return counts;
      const rows = await db.query<{ user_id: string; unread: number }>(
        `SELECT user_id, count(*)::int AS unread FROM notifications
         WHERE user_id = ANY ($1::text[]) AND read_at IS NULL AND archived_at IS NULL AND counted
         GROUP BY user_id`,
        [userIds],
      );
      for (const row of rows) counts.set(row.user_id, row.unread);
      return counts;
    },
    async markRead(userId, ids) {
      const rows = await db.query<{ id: string }>(
        `UPDATE notifications SET read_at = now()
         WHERE user_id = $1 AND id = ANY ($2::bigint[]) AND read_at IS NULL AND archived_at IS NULL
         RETURNING id::text AS id`,
        [userId, ids],
      );
      return rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    },
    async markAllRead(userId) {
      const rows = await db.query<{ changed: number }>(
        `WITH changed AS (
           UPDATE notifications SET read_at = now()
           WHERE user_id = $1 AND read_at IS NULL AND archived_at IS NULL RETURNING 1
         ) SELECT count(*)::int AS changed FROM changed`,
        [userId],
      );
      return rows[0]?.changed ?? 0;
    },
    async archive(userId, ids) {
      const rows = await db.query<{ id: string }>(
        `UPDATE notifications SET archived_at = now()
         WHERE user_id = $1 AND id = ANY ($2::bigint[]) AND archived_at IS NULL
         RETURNING id::text AS id`,
        [userId, ids],
      );
      return rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    },
    async prune({ readBefore, before }) {
      const [row] = await db.query<{ pruned: number }>(
        `WITH pruned AS (
           DELETE FROM notifications
           WHERE created_at < $2
              OR (created_at < $1 AND (read_at IS NOT NULL OR archived_at IS NOT NULL))
           RETURNING 1
         ) SELECT count(*)::int AS pruned FROM pruned`,
        [readBefore, before],
      );
      return row?.pruned ?? 0;
    },
    async getPreferences(userIds) {
      const prefs = new Map<string, Preferences>(
        userIds.map((userId) => [userId, structuredClone(defaultPreferences)]),
      );
      if (userIds.length === 0) return prefs;
      const rows = await db.query<{ user_id: string; prefs: unknown }>(
        'SELECT user_id, prefs FROM notification_preferences WHERE user_id = ANY ($1::text[])',
        [userIds],
      );
      // Parsed on the way out, so a row written by an older version still comes back whole.
      for (const row of rows) prefs.set(row.user_id, preferencesSchema.parse(row.prefs));
      return prefs;
    },
    async setPreferences(userId, prefs) {
      await db.query(
        `INSERT INTO notification_preferences (user_id, prefs) VALUES ($1, $2::jsonb)
         ON CONFLICT (user_id) DO UPDATE SET prefs = EXCLUDED.prefs, updated_at = now()`,
        [userId, JSON.stringify(prefs)],
      );
    },
  };
}
