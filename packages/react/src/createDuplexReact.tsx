import type { QueryClient } from '@tanstack/react-query';
import type { TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import {
  createTRPCContext,
  type DefaultFeatureFlags,
  type TRPCOptionsProxy,
} from '@trpc/tanstack-react-query';
import { type ReactNode, useEffect, useState } from 'react';
import { ClientHolder, type DuplexClientSource } from './clientHolder';
import { StatusContext } from './statusContext';

/** Props of the `DuplexProvider` that {@link createDuplexReact} returns. */
export interface DuplexProviderProps<TRouter extends AnyRouter> {
  /**
   * A function that creates the client (preferred): the provider calls it once, in the browser,
   * on first use — never during server rendering — and closes the client when it unmounts.
   * Or a client the app created and owns (the provider never closes it). Read once, on the
   * first render: to switch clients (another user signing in), remount the provider with a new
   * `key`, as the web chat does per session.
   */
  client: DuplexClientSource<TRouter> | (() => DuplexClientSource<TRouter>);
  /** TanStack Query's client, shared with `QueryClientProvider`. */
  queryClient: QueryClient;
  children: ReactNode;
}

/** What {@link createDuplexReact} returns. */
export interface DuplexReact<TRouter extends AnyRouter> {
  /** Serves the client, its status and tRPC's React Query integration to the tree below. */
  DuplexProvider: (props: DuplexProviderProps<TRouter>) => ReactNode;
  /** tRPC's options proxy: `useQuery(trpc.chat.history.queryOptions({ roomId }))`. */
  useTRPC: () => TRPCOptionsProxy<TRouter, DefaultFeatureFlags>;
  /** The typed client, for calls outside React Query (`client.chat.typing.mutate(...)`). */
  useTRPCClient: () => TRPCClient<TRouter>;
}

/**
 * Creates the provider and hooks for one router type, on top of `@trpc/tanstack-react-query`'s
 * `createTRPCContext`. Render `DuplexProvider` inside TanStack's `QueryClientProvider`.
 * @example
 * ```tsx
 * import type { AppRouter } from '../server/router';
 * export const { DuplexProvider, useTRPC } = createDuplexReact<AppRouter>();
 *
 * function App() {
 *   const [queryClient] = useState(() => new QueryClient());
 *   return (
 *     <QueryClientProvider client={queryClient}>
 *       <DuplexProvider queryClient={queryClient} client={() => createDuplexClient<AppRouter>({ url })}>
 *         <Rooms />
 *       </DuplexProvider>
 *     </QueryClientProvider>
 *   );
 * }
 * ```
 */
export function createDuplexReact<TRouter extends AnyRouter>(): DuplexReact<TRouter> {
  const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<TRouter>();

  // biome-ignore lint/correctness/noComponentHookFactories: one provider per router type, created once at module scope, as tRPC's createTRPCContext does
  function DuplexProvider({ client, queryClient, children }: DuplexProviderProps<TRouter>) {
    // StrictMode may build two holders; only the one kept ever creates a client.
    const [holder] = useState(() => new ClientHolder<TRouter>(client));
    useEffect(() => {
      holder.retain();
      return () => holder.release();
    }, [holder]);
    return (
      <StatusContext.Provider value={holder.status}>
        <TRPCProvider trpcClient={holder.client} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </StatusContext.Provider>
    );
  }

  return { DuplexProvider, useTRPC, useTRPCClient };
}
