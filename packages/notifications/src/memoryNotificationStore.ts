import type { NotificationStore } from './notificationStore';
import { defaultPreferences, type Notification, type Preferences } from './schemas';

interface Stored extends Notification {
  archived: boolean;
  dedupeKey: string | null;
}

/** A {@link NotificationStore} in memory: for tests and demos; everything is gone on restart. */
export function createMemoryNotificationStore(): NotificationStore {
  const byUser = new Map<string, Stored[]>();
  const preferences = new Map<string, Preferences>();
  let nextId = 1;
  const listOf = (userId: string) => {
    let list = byUser.get(userId);
    if (!list) {
      list = [];
      byUser.set(userId, list);
    }
    return list;
  };
  const visible = ({ archived, dedupeKey: _, ...n }: Stored): Notification => structuredClone(n);
  const countOf = (userId: string) =>
    listOf(userId).filter((n) => n.counted && !n.readAt && !n.archived).length;

  return {
    async insert(content, recipients) {
      const created: Notification[] = [];
      const createdAt = new Date();
      for (const { userId, counted } of recipients) {
        const list = listOf(userId);
        if (content.dedupeKey && list.some((n) => n.dedupeKey === content.dedupeKey)) continue;
        const stored: Stored = {
          id: String(nextId++),
          userId,
          category: content.category,
          priority: content.priority,
          title: content.title,
          body: content.body,
          data: structuredClone(content.data),
          link: content.link,
          createdAt,
          readAt: null,
          counted,
          archived: false,
          dedupeKey: content.dedupeKey,
        };
        list.push(stored);
        created.push(visible(stored));
      }
      return created;
    },
    async feed(userId, { before, limit, unreadOnly }) {
      return listOf(userId)
        .filter(
          (n) =>
            !n.archived &&
            (!unreadOnly || !n.readAt) &&
            (before === undefined || Number(n.id) < Number(before)),
        )
        .reverse()
        .slice(0, limit)
        .map(visible);
    },
    async unreadCounts(userIds) {
      return new Map(userIds.map((userId) => [userId, countOf(userId)]));
    },
    async markRead(userId, ids) {
      const wanted = new Set(ids);
      const readAt = new Date();
      const changed: string[] = [];
      for (const n of listOf(userId)) {
        if (wanted.has(n.id) && !n.readAt && !n.archived) {
          n.readAt = readAt;
          changed.push(n.id);
        }
      }
      return changed;
    },
    async markAllRead(userId) {
      const readAt = new Date();
      let changed = 0;
      for (const n of listOf(userId)) {
        if (!n.readAt && !n.archived) {
          n.readAt = readAt;
          changed++;
        }
      }
      return changed;
    },
    async archive(userId, ids) {
      const wanted = new Set(ids);
      const changed: string[] = [];
      for (const n of listOf(userId)) {
        if (wanted.has(n.id) && !n.archived) {
          n.archived = true;
          changed.push(n.id);
        }
      }
      return changed;
    },
    async prune({ readBefore, before }) {
      let pruned = 0;
      for (const [userId, list] of byUser) {
        const kept = list.filter(
          (n) => n.createdAt >= before && !((n.readAt || n.archived) && n.createdAt < readBefore),
        );
        pruned += list.length - kept.length;
        byUser.set(userId, kept);
      }
      return pruned;
    },
    async getPreferences(userIds) {
      return new Map(
        userIds.map((userId) => [
          userId,
          structuredClone(preferences.get(userId) ?? defaultPreferences),
        ]),
      );
    },
    async setPreferences(userId, prefs) {
      preferences.set(userId, structuredClone(prefs));
    },
  };
}
