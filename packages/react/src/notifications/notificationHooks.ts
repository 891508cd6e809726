import type { FeedPage, NotificationsRouter, Preferences } from '@duplex/notifications';
import {
  type QueryClient,
  type QueryKey,
  type UseQueryOptions,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import type { TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { useEffect, useState } from 'react';
import { asError } from '../moduleKit';
import { useLiveQuery } from '../useLiveQuery';
import { useOptimisticMutation } from '../useOptimisticMutation';
import { applyNotificationEvent, mergeFirstPage, mergeNextPage } from './feed';

/** The notifications module's procedures as `useTRPC()` shows them, wherever it is mounted. */
export type NotificationProcedures = TRPCOptionsProxy<NotificationsRouter>;

/** Options of the notification hooks. */
export interface NotificationHooksOptions {
  /** Notifications per feed page. @default 30 */
  pageSize: number;
}

/** The notification hooks' defaults. */
export const notificationHooksDefaults: NotificationHooksOptions = { pageSize: 30 };

const feedKey = (n: NotificationProcedures) =>
  ['duplex.notifications', n.pathKey()[0], 'feed'] as const;

/**
 * The feed, newest first, live on `notifications.onNotification` (new, read and archived
 * notifications, from any tab; a gap refetches), with older pages on demand. It keeps the unread
 * badge ({@link useUnreadCount}) current too: mount it once, wherever the user is signed in.
 * @example
 * ```tsx
 * const trpc = useTRPC();
 * const { items, hasMore, loadMore } = useNotificationFeed(trpc.notifications);
 * ```
 */
export function useNotificationFeed(n: NotificationProcedures, opts: { pageSize?: number } = {}) {
  const pageSize = opts.pageSize ?? notificationHooksDefaults.pageSize;
  const queryClient = useQueryClient();
  const key = feedKey(n);
  const [moreError, setMoreError] = useState<Error | null>(null);
  const query: UseQueryOptions<FeedPage, Error, FeedPage, QueryKey> = {
    queryKey: key,
    queryFn: async (): Promise<FeedPage> => {
      const page = await queryClient.fetchQuery({
        ...n.feed.queryOptions({ limit: pageSize }),
        staleTime: 0,
      });
      return mergeFirstPage(queryClient.getQueryData(key), page);
    },
  };
  const live = useLiveQuery({
    query,
    subscription: n.onNotification.subscriptionOptions({}),
    apply: (page: FeedPage, item) => applyNotificationEvent(page, item.data),
    onEvent: (item) => queryClient.setQueryData(n.unreadCount.queryKey(), item.data.unreadCount),
  });
  // Events were lost: the feed is fetched again by `useLiveQuery`, the badge here.
  const gap = live.live.gap;
  useEffect(() => {
    if (gap)
      void queryClient.invalidateQueries({ queryKey: n.unreadCount.queryKey(), exact: true });
  }, [gap, n, queryClient]);
  const loadMore = async () => {
    const cursor = queryClient.getQueryData<FeedPage>(key)?.nextCursor;
    if (!cursor) return;
    try {
      const page = await queryClient.fetchQuery({
        ...n.feed.queryOptions({ limit: pageSize, cursor }),
        staleTime: 0,
      });
      queryClient.setQueryData<FeedPage>(key, (d) => (d ? mergeNextPage(d, page) : d));
      setMoreError(null);
    } catch (error) {
      setMoreError(asError(error));
    }
  };
  return {
    items: live.data?.items ?? [],
    hasMore: (live.data?.nextCursor ?? null) !== null,
    loadMore,
    refresh: () => void refresh(queryClient, n, key),
    error: asError(live.error ?? live.live.error) ?? moreError,
  };
}

/**
 * The unread badge: what `notifications.unreadCount` answered, moved by the feed's events and at
 * once by {@link useNotificationActions}.
 */
export function useUnreadCount(n: NotificationProcedures) {
  return (
    useQuery({ ...n.unreadCount.queryOptions(), staleTime: Number.POSITIVE_INFINITY }).data ?? 0
  );
}

/**
 * Mark read, mark all read and archive: shown at once in the feed and the badge, the badge then
 * set exactly from the server's answer (or fetched again if the call fails).
 */
export function useNotificationActions(n: NotificationProcedures) {
  const queryClient = useQueryClient();
  const key = feedKey(n);
  const countKey = n.unreadCount.queryKey();
  /** The badge moves at once by what the feed shows; the answer then sets it exactly. */
  const badge = <TInput>(ids: (input: TInput) => string[] | 'all') => ({
    onMutate: (input: TInput): undefined => {
      const page = queryClient.getQueryData<FeedPage>(key);
      if (page)
        queryClient.setQueryData(countKey, (count) =>
          count === undefined ? count : Math.max(0, count - unreadAmong(page, ids(input))),
        );
    },
    onSuccess: ({ unreadCount }: { unreadCount: number }) =>
      queryClient.setQueryData(countKey, unreadCount),
    onError: () => void queryClient.invalidateQueries({ queryKey: countKey, exact: true }),
  });
  const markRead = useOptimisticMutation(
    { ...n.markRead.mutationOptions(), ...badge((input: { ids: string[] }) => input.ids) },
    {
      queryKey: key,
      apply: (page: FeedPage, { ids }) =>
        applyNotificationEvent(page, { type: 'notification.read', ids, unreadCount: 0 }),
    },
  );
  const markAllRead = useOptimisticMutation(
    { ...n.markAllRead.mutationOptions(), ...badge((_input: undefined) => 'all' as const) },
    {
      queryKey: key,
      apply: (page: FeedPage) =>
        applyNotificationEvent(page, { type: 'notification.read', ids: 'all', unreadCount: 0 }),
    },
  );
  const archive = useOptimisticMutation(
    { ...n.archive.mutationOptions(), ...badge((input: { ids: string[] }) => input.ids) },
    {
      queryKey: key,
      apply: (page: FeedPage, { ids }) =>
        applyNotificationEvent(page, { type: 'notification.archived', ids, unreadCount: 0 }),
    },
  );
  return {
    markRead: async (ids: string[]): Promise<void> => {
      await markRead.mutateAsync({ ids });
    },
    markAllRead: async (): Promise<void> => {
      await markAllRead.mutateAsync(undefined);
    },
    archive: async (ids: string[]): Promise<void> => {
      await archive.mutateAsync({ ids });
    },
    error: asError(markRead.error ?? markAllRead.error ?? archive.error),
  };
}

/** The user's notification preferences, and `save` to store new ones. */
export function useNotificationPreferences(n: NotificationProcedures) {
  const queryClient = useQueryClient();
  const query = useQuery(n.preferences.queryOptions());
  const save = useMutation(
    n.setPreferences.mutationOptions({
      onSuccess: (prefs) => queryClient.setQueryData(n.preferences.queryKey(), prefs),
    }),
  );
  return {
    preferences: query.data,
    save: (prefs: Preferences) => save.mutateAsync(prefs),
    error: asError(query.error ?? save.error),
  };
}

/** How many of `ids` the page shows unread and counted in the badge. */
function unreadAmong(page: FeedPage, ids: string[] | 'all'): number {
  return page.items.filter(
    (i) => i.readAt === null && i.counted && (ids === 'all' || ids.includes(i.id)),
  ).length;
}

function refresh(queryClient: QueryClient, n: NotificationProcedures, key: readonly unknown[]) {
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: key, exact: true }),
    queryClient.invalidateQueries({ queryKey: n.unreadCount.queryKey(), exact: true }),
  ]);
}
