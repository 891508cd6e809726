import {
  type QueryKey,
  type UseMutationOptions,
  type UseMutationResult,
  useMutation,
  useQueryClient,
} from '@tanstack/react-query';
import { useRef } from 'react';

/** How {@link useOptimisticMutation} shows a call before the server answers. */
export interface OptimisticUpdate<TCache, TVariables, TResult> {
  /** The cached query the call changes (`trpc.chat.history.queryKey({ roomId })`). */
  queryKey: QueryKey;
  /** The cache as it looks once the call succeeds: e.g. a pending message added. */
  apply: (data: TCache, variables: TVariables) => TCache;
  /**
   * The cache once the server answered: e.g. the pending message replaced by the stored one.
   * By default the cache is left to the live stream.
   */
  confirm?: (data: TCache, variables: TVariables, result: TResult) => TCache;
  /**
   * The cache after the call failed for good: undo what `apply` did. Only this call's change is
   * undone (never a snapshot restore, which would drop events that arrived meanwhile). By
   * default the query is fetched again.
   */
  revert?: (data: TCache, variables: TVariables) => TCache;
}

/**
 * `useMutation` with an optimistic cache update that survives reconnects. Pass options built
 * with Duplex's `idempotent` request context, and an input carrying the call's own key (such as
 * chat's `clientMsgId`): if the connection drops before the answer, the Duplex client sends the
 * call again on the next socket, and the server answers a repeat with the first result, so the
 * change shows once, confirmed in place.
 * @example
 * ```tsx
 * const send = useOptimisticMutation(trpc.chat.send.mutationOptions({ trpc: idempotent }), {
 *   queryKey: trpc.chat.history.queryKey({ roomId }),
 *   apply: (messages, input) => [...messages, pendingMessage(input)],
 *   confirm: (messages, input, message) =>
 *     messages.map((m) => (m.clientMsgId === input.clientMsgId ? message : m)),
 *   revert: (messages, input) => messages.filter((m) => m.clientMsgId !== input.clientMsgId),
 * });
 * send.mutate({ roomId, clientMsgId: crypto.randomUUID(), text });
 * ```
 */
export function useOptimisticMutation<TResult, TError, TVariables, TContext, TCache>(
  options: UseMutationOptions<TResult, TError, TVariables, TContext>,
  update: OptimisticUpdate<TCache, TVariables, TResult>,
): UseMutationResult<TResult, TError, TVariables, TContext> {
  const queryClient = useQueryClient();
  const latest = useRef(update);
  latest.current = update;
  /** Calls of this hook between `onMutate` and `onSettled`, and whether one cancelled a fetch. */
  const calls = useRef({ inFlight: 0, refetch: false });
  const change = (fn: (data: TCache) => TCache) =>
    queryClient.setQueryData<TCache>(latest.current.queryKey, (data) =>
      data === undefined ? data : fn(data),
    );
  return useMutation<TResult, TError, TVariables, TContext>({
    ...options,
    onMutate: async (variables, context) => {
      const { queryKey } = latest.current;
      calls.current.inFlight++;
      // A fetch under way would answer with the cache as it was before this call: cancel it and
      // fetch again once the calls settle. Not the first load: with nothing cached the call has
      // nothing to show in, and a cancelled first load would leave the query empty for good.
      if (
        queryClient.getQueryData(queryKey) !== undefined &&
        queryClient.isFetching({ queryKey, exact: true }) > 0
      ) {
        await queryClient.cancelQueries({ queryKey, exact: true });
        calls.current.refetch = true;
      }
      change((data) => latest.current.apply(data, variables));
      return options.onMutate?.(variables, context) as TContext | Promise<TContext>;
    },
    onSettled: (result, error, variables, onMutateResult, context) => {
      calls.current.inFlight--;
      if (calls.current.inFlight === 0 && calls.current.refetch) {
        calls.current.refetch = false;
        void queryClient.invalidateQueries({ queryKey: latest.current.queryKey, exact: true });
      }
      return options.onSettled?.(result, error, variables, onMutateResult, context);
    },
    onSuccess: (result, variables, onMutateResult, context) => {
      const { confirm } = latest.current;
      if (confirm) change((data) => confirm(data, variables, result));
      return options.onSuccess?.(result, variables, onMutateResult, context);
    },
    onError: (error, variables, onMutateResult, context) => {
      const { revert, queryKey } = latest.current;
      if (revert) change((data) => revert(data, variables));
      else void queryClient.invalidateQueries({ queryKey, exact: true });
      return options.onError?.(error, variables, onMutateResult, context);
    },
  });
}
