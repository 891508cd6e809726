import type { ChatRouterOptions } from '@duplex/chat';
import { createChatRouter } from '@duplex/chat';
import {
  createNotificationsRouter,
  type Notification,
  type NotificationsRouterOptions,
  type Preferences,
} from '@duplex/notifications';
import type { DuplexInstance } from '@duplex/server';
import { describe, expectTypeOf, it } from 'vitest';
import { createDuplexReact } from '../createDuplexReact';
import {
  useNotificationActions,
  useNotificationFeed,
  useNotificationPreferences,
  useUnreadCount,
} from './index';

declare const duplex: DuplexInstance<{ id: string; name: string }>;
declare const chatOptions: ChatRouterOptions;
declare const notificationOptions: NotificationsRouterOptions<{ id: string }>;
const appRouter = duplex.router({
  chat: createChatRouter(duplex, chatOptions),
  alerts: createNotificationsRouter(duplex, notificationOptions),
});
const { useTRPC } = createDuplexReact<typeof appRouter>();

describe('notification hooks', () => {
  const trpc = useTRPC();

  it('accept the notifications module wherever it is mounted, and nothing else', () => {
    useUnreadCount(trpc.alerts);
    // @ts-expect-error the chat module is not the notifications module
    useUnreadCount(trpc.chat);
    // @ts-expect-error no such key
    useNotificationFeed(trpc.notifications);
  });

  it('infer the feed, the badge and the preferences', () => {
    const feed = useNotificationFeed(trpc.alerts, { pageSize: 10 });
    expectTypeOf(feed.items).toEqualTypeOf<Notification[]>();
    expectTypeOf(feed.items[0]!.createdAt).toEqualTypeOf<Date>();
    expectTypeOf(useUnreadCount(trpc.alerts)).toEqualTypeOf<number>();
    const prefs = useNotificationPreferences(trpc.alerts);
    expectTypeOf(prefs.preferences).toEqualTypeOf<Preferences | undefined>();
    expectTypeOf(prefs.save).parameter(0).toEqualTypeOf<Preferences>();
    // @ts-expect-error minPriority is one of the priorities
    prefs.save({ categories: {}, minPriority: 'loud', quietHours: null });
  });

  it('mark read by notification ids', () => {
    const actions = useNotificationActions(trpc.alerts);
    expectTypeOf(actions.markRead).parameter(0).toEqualTypeOf<string[]>();
    // @ts-expect-error ids are strings
    actions.markRead([1]);
    expectTypeOf(actions.markAllRead).toEqualTypeOf<() => Promise<void>>();
  });
});
