import type { FeedPage, Notification } from '@duplex/notifications';
import { describe, expect, it } from 'vitest';
import { applyNotificationEvent, mergeFirstPage, mergeNextPage } from './feed';

const notification = (id: string, extra: Partial<Notification> = {}): Notification => ({
  id,
  userId: 'ada',
  category: 'deploy',
  priority: 'normal',
  title: `n${id}`,
  body: null,
  data: null,
  link: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  readAt: null,
  counted: true,
  ...extra,
});
const page = (ids: string[], nextCursor: string | null = null): FeedPage => ({
  items: ids.map((id) => notification(id)),
  nextCursor,
});
const idsOf = (p: FeedPage) => p.items.map((n) => n.id);

describe('applyNotificationEvent', () => {
  it('adds a new notification on top, once', () => {
    const created = {
      type: 'notification.created' as const,
      notification: notification('3'),
      unreadCount: 1,
    };
    const once = applyNotificationEvent(page(['2', '1']), created);
    expect(idsOf(once)).toEqual(['3', '2', '1']);
    expect(applyNotificationEvent(once, created)).toBe(once);
  });

  it('marks the named notifications read, or all of them', () => {
    const feed = page(['2', '1']);
    const one = applyNotificationEvent(feed, {
      type: 'notification.read',
      ids: ['1'],
      unreadCount: 1,
    });
    expect(one.items.map((n) => n.readAt !== null)).toEqual([false, true]);
    const all = applyNotificationEvent(feed, {
      type: 'notification.read',
      ids: 'all',
      unreadCount: 0,
    });
    expect(all.items.every((n) => n.readAt !== null)).toBe(true);
  });

  it('removes archived notifications', () => {
    const next = applyNotificationEvent(page(['2', '1']), {
      type: 'notification.archived',
      ids: ['2'],
      unreadCount: 0,
    });
    expect(idsOf(next)).toEqual(['1']);
  });
});

describe('feed pages', () => {
  it('keeps older pages below the first page fetched again, with their cursor', () => {
    const loaded = page(['5', '4', '3', '2'], '2');
    const next = mergeFirstPage(loaded, page(['6', '5'], '5'));
    expect(next).toEqual({ items: page(['6', '5', '4', '3', '2']).items, nextCursor: '2' });
  });

  it('takes the first page alone when it is the whole feed', () => {
    expect(mergeFirstPage(page(['5', '4'], '4'), page(['6']))).toEqual(page(['6']));
  });

  it('adds the next page below, once each', () => {
    expect(mergeNextPage(page(['3', '2'], '2'), page(['2', '1']))).toEqual(page(['3', '2', '1']));
  });
});
