import type { DuplexClient } from '@duplex/client';
import { isGap } from '@duplex/client';
import type { Notification, NotificationEvent, Preferences } from '@duplex/notifications';
import type { AppRouter } from '../server/router';

const pageSize = 30;

/**
 * The notification center's state: the feed (newest first), the unread badge and the user's
 * preferences, kept live by `notifications.onNotification`. Read and archive changes made in
 * another tab arrive on the same stream.
 */
export class NotificationsModel {
  items: Notification[] = [];
  unreadCount = 0;
  hasMore = false;
  preferences: Preferences | null = null;
  private stream: { unsubscribe(): void } | null = null;
  /** Bumped by every stream event, so a count fetched before an event never overwrites it. */
  private eventSeq = 0;

  constructor(
    private readonly client: DuplexClient<AppRouter>,
    private readonly changed: () => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  /**
   * Subscribes, and loads the feed once the stream runs (and again whenever it restarts):
   * whatever was sent before is in the feed, whatever after arrives on the stream.
   */
  start() {
    this.stream = this.client.notifications.onNotification.subscribe(
      {},
      {
        onStarted: () => void this.refresh(),
        onData: ({ data }) => {
          if (isGap(data)) void this.refresh();
          else this.apply(data);
        },
        onError: (error) => this.fail(error),
      },
    );
    this.client.notifications.preferences
      .query()
      .then((prefs) => {
        this.preferences = prefs;
        this.changed();
      })
      .catch((error: unknown) => this.fail(error));
  }

  stop() {
    this.stream?.unsubscribe();
    this.stream = null;
  }

  /** The newest page and the badge, fetched again (after a gap, or when the panel opens). */
  async refresh() {
    const seq = this.eventSeq;
    try {
      const [page, count] = await Promise.all([
        this.client.notifications.feed.query({ limit: pageSize }),
        this.client.notifications.unreadCount.query(),
      ]);
      const older = this.items.filter((n) => Number(n.id) < Number(page.items.at(-1)?.id ?? 0));
      this.items = [...page.items, ...(page.nextCursor ? older : [])];
      this.hasMore = page.nextCursor !== null;
      if (seq === this.eventSeq) this.unreadCount = count;
      this.changed();
    } catch (error) {
      this.fail(error);
    }
  }

  async loadMore() {
    const cursor = this.items.at(-1)?.id;
    if (!cursor) return;
    const page = await this.client.notifications.feed.query({ limit: pageSize, cursor });
    const known = new Set(this.items.map((n) => n.id));
    this.items = [...this.items, ...page.items.filter((n) => !known.has(n.id))];
    this.hasMore = page.nextCursor !== null;
    this.changed();
  }

  private apply(event: NotificationEvent) {
    this.eventSeq++;
    this.unreadCount = event.unreadCount;
    switch (event.type) {
      case 'notification.created':
        if (!this.items.some((n) => n.id === event.notification.id))
          this.items = [event.notification, ...this.items];
        break;
      case 'notification.read': {
        const readAt = new Date();
        const ids = event.ids === 'all' ? null : new Set(event.ids);
        this.items = this.items.map((n) =>
          !n.readAt && (ids === null || ids.has(n.id)) ? { ...n, readAt } : n,
        );
        break;
      }
      case 'notification.archived': {
        const ids = new Set(event.ids);
        this.items = this.items.filter((n) => !ids.has(n.id));
        break;
      }
    }
    this.changed();
  }

  /** The answer's count is applied at once; the stream brings the same change to other tabs. */
  async markRead(ids: string[]) {
    const { unreadCount } = await this.client.notifications.markRead.mutate({ ids });
    this.apply({ type: 'notification.read', ids, unreadCount });
  }

  async markAllRead() {
    const { unreadCount } = await this.client.notifications.markAllRead.mutate();
    this.apply({ type: 'notification.read', ids: 'all', unreadCount });
  }

  async archive(id: string) {
    const { unreadCount } = await this.client.notifications.archive.mutate({ ids: [id] });
    this.apply({ type: 'notification.archived', ids: [id], unreadCount });
  }

  async savePreferences(prefs: Preferences) {
    this.preferences = await this.client.notifications.setPreferences.mutate(prefs);
    this.changed();
  }
}
