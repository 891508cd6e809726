import { isGap, type StreamGap } from '@duplex/protocol';
import { hashKey } from '@tanstack/react-query';
import type { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useConnectionStatus } from './useConnectionStatus';

/**
 * The events a live hook hands to the app: the subscription's output with gaps left out, inside
 * `tracked()` events too (`{ id, data }`, as broker streams such as `streamChannel` yield them).
 */
export type inferLiveEvent<TOutput> = TOutput extends { id: string; data: infer TData }
  ? [Exclude<TData, StreamGap>] extends [never]
    ? never
    : { id: string; data: Exclude<TData, StreamGap> }
  : Exclude<TOutput, StreamGap>;

/**
 * The gap an event carries: the event itself (an untracked stream) or its `data` (a `tracked()`
 * stream such as `streamChannel`, whose gap comes with an id like any event).
 */
export function gapOf(event: unknown): StreamGap | null {
  if (isGap(event)) return event;
  if (typeof event === 'object' && event !== null && 'data' in event && isGap(event.data)) {
    return event.data;
  }
  return null;
}

/** What `trpc.x.subscriptionOptions(input)` returns, for any procedure. */
export type SubscriptionOptionsOut<TOutput, TError> = Parameters<
  typeof useSubscription<TOutput, TError>
>[0];

/**
 * Where a live subscription is:
 * - `idle`: disabled (`enabled: false` or `skipToken`);
 * - `connecting`: asked for, not started yet;
 * - `live`: started; events arrive as they happen;
 * - `reconnecting`: the connection dropped; the stream resumes where it stopped once it is back;
 * - `gap`: the stream resumed past what the server still keeps, so some events were lost: refetch
 *   what the events update (then call `resolveGap`), or wait for the next event;
 * - `error`: the server ended it with an error (`error` says which).
 */
export type LiveSubscriptionStatus =
  | 'idle'
  | 'connecting'
  | 'live'
  | 'reconnecting'
  | 'gap'
  | 'error';

/** What {@link useLiveSubscription} returns. */
export interface LiveSubscriptionResult<TData, TError> {
  status: LiveSubscriptionStatus;
  /** The newest event, gaps left out (a `tracked()` event keeps its `{ id, data }` shape). */
  data: TData | undefined;
  /** The unresolved gap, while `status` is `gap`. */
  gap: StreamGap | null;
  /** The error that ended the stream, while `status` is `error`. */
  error: TError | null;
  /** Marks the gap handled (after a refetch): `status` goes back to `live`. */
  resolveGap: () => void;
  /** Stops the stream and starts it again from now (after an `error`, for instance). */
  reset: () => void;
}

/** Callbacks of {@link useLiveSubscription}; the latest ones are called, never stale ones. */
export interface LiveSubscriptionHandlers<TData> {
  /** Every event, once each, in order (gaps are reported to `onGap` instead). */
  onData?: (data: TData) => void;
  /** The stream resumed past retention: some events are lost; refetch what they update. */
  onGap?: (gap: StreamGap) => void;
  /**
   * The stream started: `resumed` is `false` the first time (and after `reset`), `true` when it
   * picked up again after a reconnect (events since are replayed; nothing is missed).
   */
  onStarted?: (info: { resumed: boolean }) => void;
}

interface State<TData, TError> {
  phase: 'idle' | 'connecting' | 'started' | 'error';
  data: TData | undefined;
  gap: StreamGap | null;
  error: TError | null;
}

/**
 * Subscribes to a resumable Duplex stream for as long as the component is mounted: events once
 * each and in order across reconnects, a gap as its own state, and no subscription left on the
 * server after unmount. The stream starts after the commit, so StrictMode's mount-unmount-mount
 * sends one subscription, not two.
 * @example
 * ```tsx
 * const trpc = useTRPC();
 * const live = useLiveSubscription(trpc.chat.onEvent.subscriptionOptions({ roomId }), {
 *   onData: (event) => console.log(event.type),
 *   onGap: () => refetch(),
 * });
 * if (live.status === 'reconnecting') return <p>Reconnecting…</p>;
 * ```
 */
export function useLiveSubscription<TOutput, TError>(
  options: SubscriptionOptionsOut<TOutput, TError>,
  handlers: LiveSubscriptionHandlers<inferLiveEvent<TOutput>> = {},
): LiveSubscriptionResult<inferLiveEvent<TOutput>, TError> {
  type TData = inferLiveEvent<TOutput>;
  const connection = useConnectionStatus();
  const latest = useRef({ options, handlers });
  latest.current = { options, handlers };
  const [state, setState] = useState<State<TData, TError>>(() => initial(options.enabled));
  const [generation, setGeneration] = useState(0);
  const key = hashKey(options.queryKey);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the stream depends on its key, not on the options object rebuilt each render
  useEffect(() => {
    setState(initial(options.enabled));
    if (!options.enabled) return;
    let stopped = false;
    let started = false;
    let unsubscribe: (() => void) | null = null;
    // After the commit: StrictMode unmounts and remounts synchronously, so nothing goes out for
    // the first mount.
    queueMicrotask(() => {
      if (stopped) return;
      const subscription = latest.current.options.subscribe({
        onStarted: () => {
          const resumed = started;
          started = true;
          setState((s) => ({ ...s, phase: 'started', error: null }));
          latest.current.handlers.onStarted?.({ resumed });
        },
        onData: (data) => {
          const gap = gapOf(data);
          if (gap) {
            setState((s) => ({ ...s, gap }));
            latest.current.handlers.onGap?.(gap);
            return;
          }
          setState((s) => ({ ...s, phase: 'started', data: data as TData, gap: null }));
          latest.current.handlers.onData?.(data as TData);
          latest.current.options.onData?.(data as never);
        },
        onError: (error) => {
          setState((s) => ({ ...s, phase: 'error', error: error as TError }));
          latest.current.options.onError?.(error as TError);
        },
      });
      unsubscribe = () => subscription.unsubscribe();
    });
    return () => {
      stopped = true;
      unsubscribe?.();
    };
  }, [key, options.enabled, generation]);

  const resolveGap = useCallback(() => setState((s) => ({ ...s, gap: null })), []);
  const reset = useCallback(() => setGeneration((g) => g + 1), []);
  return {
    status: statusOf(state.phase, state.gap !== null, connection.state),
    data: state.data,
    gap: state.gap,
    error: state.error,
    resolveGap,
    reset,
  };
}

function initial<TData, TError>(enabled: boolean): State<TData, TError> {
  return { phase: enabled ? 'connecting' : 'idle', data: undefined, gap: null, error: null };
}

function statusOf(
  phase: State<unknown, unknown>['phase'],
  hasGap: boolean,
  connection: string,
): LiveSubscriptionStatus {
  if (phase !== 'started') return phase;
  if (connection !== 'open') return 'reconnecting';
  return hasGap ? 'gap' : 'live';
}
