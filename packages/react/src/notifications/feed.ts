import type { FeedPage, NotificationEvent } from '@duplex/notifications';

/** Notification ids are decimal strings without leading zeros: longer is newer, then by digits. */
const compareIds = (a: string, b: string): number =>
  a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/**
 * Folds one `notifications.onNotification` event into the feed. Idempotent, as `useLiveQuery`
 * requires: a notification already shown is not added again.
 */
export function applyNotificationEvent(page: FeedPage, event: NotificationEvent): FeedPage {
  switch (event.type) {
    case 'notification.created':
      return page.items.some((n) => n.id === event.notification.id)
        ? page
        : { ...page, items: [event.notification, ...page.items] };
    case 'notification.read': {
      const readAt = new Date();
      const ids = event.ids === 'all' ? null : new Set(event.ids);
      return {
        ...page,
        items: page.items.map((n) =>
          n.readAt === null && (ids === null || ids.has(n.id)) ? { ...n, readAt } : n,
        ),
      };
    }
    case 'notification.archived': {
      const ids = new Set(event.ids);
      return { ...page, items: page.items.filter((n) => !ids.has(n.id)) };
    }
  }
}

/** The newest page, fetched again: older pages loaded below it stay, with their cursor. */
export function mergeFirstPage(data: FeedPage | undefined, page: FeedPage): FeedPage {
  const last = page.items.at(-1)?.id;
  if (!data || page.nextCursor === null || last === undefined) return page;
  const older = data.items.filter((n) => compareIds(n.id, last) < 0);
  return older.length > 0
    ? { items: [...page.items, ...older], nextCursor: data.nextCursor }
    : page;
}

/** The next (older) page, added below. */
export function mergeNextPage(data: FeedPage, page: FeedPage): FeedPage {
  const known = new Set(data.items.map((n) => n.id));
  return {
    items: [...data.items, ...page.items.filter((n) => !known.has(n.id))],
    nextCursor: page.nextCursor,
  };
}
