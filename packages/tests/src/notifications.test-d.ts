import { createDuplexClient, type StreamGap } from '@duplex/client';
import {
  createMemoryNotificationStore,
  createNotificationsRouter,
  createNotifier,
  type FeedPage,
  type Notification,
  type NotificationEvent,
  type NotifyResult,
  type Preferences,
} from '@duplex/notifications';
import { createMemoryBroker, initDuplex } from '@duplex/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { NotificationsApp } from './notificationsFixtures';

const client = createDuplexClient<NotificationsApp>({ url: 'ws://127.0.0.1:1/trpc' });
const notifier = createNotifier({
  store: createMemoryNotificationStore(),
  broker: createMemoryBroker(),
});

describe('notification procedures through the client', () => {
  it('types the feed and the badge', () => {
    expectTypeOf(client.notifications.feed.query({ limit: 20 })).resolves.toEqualTypeOf<FeedPage>();
    expectTypeOf(client.notifications.feed.query({})).resolves.toEqualTypeOf<FeedPage>();
    expectTypeOf(client.notifications.unreadCount.query()).resolves.toEqualTypeOf<number>();
    expectTypeOf<FeedPage['items'][number]>().toEqualTypeOf<Notification>();
    // @ts-expect-error the cursor is a notification id string
    void client.notifications.feed.query({ cursor: 5 });
    // @ts-expect-error unreadOnly is a boolean
    void client.notifications.feed.query({ unreadOnly: 'yes' });
  });

  it('types read state and archive', () => {
    expectTypeOf(client.notifications.markRead.mutate({ ids: ['1'] })).resolves.toEqualTypeOf<{
      unreadCount: number;
    }>();
    expectTypeOf(client.notifications.markAllRead.mutate()).resolves.toEqualTypeOf<{
      unreadCount: number;
    }>();
    expectTypeOf(client.notifications.archive.mutate({ ids: ['1'] })).resolves.toEqualTypeOf<{
      unreadCount: number;
    }>();
    // @ts-expect-error ids is a list
    void client.notifications.markRead.mutate({ ids: '1' });
  });

  it('types preferences', () => {
    expectTypeOf(client.notifications.preferences.query()).resolves.toEqualTypeOf<Preferences>();
    expectTypeOf(
      client.notifications.setPreferences.mutate({ minPriority: 'high' }),
    ).resolves.toEqualTypeOf<Preferences>();
    expectTypeOf<Preferences['minPriority']>().toEqualTypeOf<
      'low' | 'normal' | 'high' | 'urgent'
    >();
    // @ts-expect-error no such priority
    void client.notifications.setPreferences.mutate({ minPriority: 'critical' });
    // @ts-expect-error categories map to on/off
    void client.notifications.setPreferences.mutate({ categories: { chat: 'on' } });
  });

  it('types notify on the client and on the server alike', () => {
    expectTypeOf(
      client.notifications.notify.mutate({ to: ['a', 'b'], category: 'c', title: 't' }),
    ).resolves.toEqualTypeOf<NotifyResult>();
    expectTypeOf(
      notifier.notify({ to: 'a', category: 'c', title: 't', priority: 'urgent' }),
    ).resolves.toEqualTypeOf<NotifyResult>();
    // @ts-expect-error a title is required
    void notifier.notify({ to: 'a', category: 'c' });
    // @ts-expect-error data is JSON: no functions
    void notifier.notify({ to: 'a', category: 'c', title: 't', data: { f: () => 1 } });
  });

  it('types the stream as a discriminated union, plus gaps', () => {
    client.notifications.onNotification.subscribe(
      {},
      {
        onData({ id, data }) {
          expectTypeOf(id).toEqualTypeOf<string>();
          expectTypeOf(data).toEqualTypeOf<NotificationEvent | StreamGap>();
          if ('type' in data && data.type === 'notification.created')
            expectTypeOf(data.notification).toEqualTypeOf<Notification>();
          if ('type' in data && data.type === 'notification.read')
            expectTypeOf(data.ids).toEqualTypeOf<string[] | 'all'>();
          // @ts-expect-error no such event type
          if ('type' in data && data.type === 'notification.deleted') void data;
        },
      },
    );
    // @ts-expect-error the resume id is a string
    client.notifications.onNotification.subscribe({ lastEventId: 1 }, { onData() {} });
  });

  it('requires a user with an id and a canNotify that takes that user', () => {
    const duplex = initDuplex<{ id: string; role: 'admin' | 'member' }>();
    createNotificationsRouter(duplex, { notifier, canNotify: (user) => user.role === 'admin' });
    // @ts-expect-error the user type has no `admin`
    createNotificationsRouter(duplex, { notifier, canNotify: (user) => user.admin });
    const anonymous = initDuplex<{ name: string }>();
    // @ts-expect-error the module needs the user's `id`
    createNotificationsRouter(anonymous, { notifier });
  });
});
