import {
  hashKey,
  type QueryClient,
  type QueryFunction,
  type QueryKey,
  skipToken,
  type UseQueryOptions,
  type UseQueryResult,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { useRef, useState } from 'react';
import {
  type inferLiveEvent,
  type LiveSubscriptionResult,
  type SubscriptionOptionsOut,
  useLiveSubscription,
} from './useLiveSubscription';

/** Options of {@link useLiveQuery}. */
export interface LiveQueryOptions<
  TQueryFnData,
  TError,
  TData,
  TQueryKey extends QueryKey,
  TEvent,
  TSubscriptionError,
> {
  /** The query that loads the state: `trpc.chat.history.queryOptions({ roomId })`. */
  query: UseQueryOptions<TQueryFnData, TError, TData, TQueryKey>;
  /** The stream that keeps it current: `trpc.chat.onEvent.subscriptionOptions({ roomId })`. */
  subscription: SubscriptionOptionsOut<TEvent, TSubscriptionError>;
  /**
   * Folds one event into the cached data and returns the new data (never mutates it). It must be
   * idempotent — merge by id — because an event that arrives while a fetch is under way is applied
   * again to that fetch's answer, which may already hold it.
   */
  apply: (data: TQueryFnData, event: inferLiveEvent<TEvent>) => TQueryFnData;
  /**
   * Runs for every event after `apply`, gaps left out: for what the event changes beyond this
   * query (another query's cache, a badge).
   */
  onEvent?: (event: inferLiveEvent<TEvent>) => void;
}

/** What {@link useLiveQuery} returns: TanStack's query result, plus the stream's state. */
export type LiveQueryResult<TData, TError, TEvent, TSubscriptionError> = UseQueryResult<
  TData,
  TError
> & { live: LiveSubscriptionResult<inferLiveEvent<TEvent>, TSubscriptionError> };

/** Per query client and query hash: the events seen by each fetch under way. */
const fetchBuffers = new WeakMap<QueryClient, Map<string, Set<unknown[]>>>();

function buffersOf(queryClient: QueryClient, hash: string): Set<unknown[]> {
  let byHash = fetchBuffers.get(queryClient);
  if (!byHash) {
    byHash = new Map();
    fetchBuffers.set(queryClient, byHash);
  }
  let buffers = byHash.get(hash);
  if (!buffers) {
    buffers = new Set();
    byHash.set(hash, buffers);
  }
  return buffers;
}

/**
 * A query whose cached data a subscription keeps current, Convex-style: the stream starts first,
 * the query loads once it runs (so nothing falls between the two), each event is folded into
 * the cache with `apply` (once each, in order), an event that lands while a fetch is under way
 * is folded into that fetch's answer too, and a gap or a stale cache refetches once. The query
 * defaults to `staleTime: Infinity` and no refetch on focus or reconnect: the stream, not a timer,
 * says when data changes.
 * @example
 * ```tsx
 * const trpc = useTRPC();
 * const { data: notifications } = useLiveQuery({
 *   query: trpc.notifications.feed.queryOptions({ limit: 30 }),
 *   subscription: trpc.notifications.onNotification.subscriptionOptions({}),
 *   apply: (page, event) =>
 *     event.type === 'notification.created' && !page.items.some((n) => n.id === event.notification.id)
 *       ? { ...page, items: [event.notification, ...page.items] }
 *       : page,
 * });
 * ```
 */
export function useLiveQuery<
  TQueryFnData,
  TError,
  TData,
  TQueryKey extends QueryKey,
  TEvent,
  TSubscriptionError,
>(
  options: LiveQueryOptions<TQueryFnData, TError, TData, TQueryKey, TEvent, TSubscriptionError>,
): LiveQueryResult<TData, TError, TEvent, TSubscriptionError> {
  const { query, subscription } = options;
  const queryClient = useQueryClient();
  const queryKey = query.queryKey;
  const hash = hashKey(queryKey);
  const latest = useRef(options);
  latest.current = options;
  /** The query hash whose stream has started; the query waits for it. */
  const [startedHash, setStartedHash] = useState<string | null>(null);
  const gapResolver = useRef<() => void>(() => undefined);

  const refetch = () =>
    queryClient.invalidateQueries({ queryKey: latest.current.query.queryKey, exact: true });
  const live = useLiveSubscription(subscription, {
    onStarted: ({ resumed }) => {
      if (resumed) return;
      // Cached from before this stream: it may have missed events; load it again.
      if (queryClient.getQueryData(queryKey) !== undefined) void refetch();
      setStartedHash(hash);
    },
    onData: (event) => {
      for (const buffer of fetchBuffers.get(queryClient)?.get(hash) ?? []) buffer.push(event);
      queryClient.setQueryData<TQueryFnData>(queryKey, (data) =>
        data === undefined ? data : latest.current.apply(data, event),
      );
      latest.current.onEvent?.(event);
    },
    onGap: () => {
      void refetch().then(() => gapResolver.current());
    },
  });
  gapResolver.current = live.resolveGap;

  const queryFn = query.queryFn;
  const liveQueryFn: typeof queryFn =
    queryFn === undefined || queryFn === skipToken
      ? queryFn
      : async (context) => {
          const buffer: unknown[] = [];
          const buffers = buffersOf(queryClient, hash);
          buffers.add(buffer);
          try {
            const data = await (queryFn as QueryFunction<TQueryFnData, TQueryKey>)(context);
            const apply = latest.current.apply;
            return buffer.reduce<TQueryFnData>(
              (acc, event) => apply(acc, event as inferLiveEvent<TEvent>),
              data,
            );
          } finally {
            buffers.delete(buffer);
            if (buffers.size === 0) fetchBuffers.get(queryClient)?.delete(hash);
          }
        };
  // Without a stream (disabled, or ended by an error) it is a plain query.
  const ready = startedHash === hash || live.status === 'idle' || live.status === 'error';
  const enabled = query.enabled;
  const result = useQuery<TQueryFnData, TError, TData, TQueryKey>({
    // The stream says when data changes; a refetch on focus or on the browser's `online` event
    // would only repeat the refetch a gap already asks for.
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
    ...query,
    queryFn: liveQueryFn,
    enabled:
      typeof enabled === 'function' ? (q) => ready && enabled(q) : ready && enabled !== false,
  });
  return Object.assign(result, { live });
}
