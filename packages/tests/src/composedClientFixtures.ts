import { createDuplexConnection, type DuplexConnectionOptions, duplexLinks } from '@duplex/client';
import { createTRPCClient, httpBatchLink, loggerLink, splitLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from './fixtures';

/** One line of tRPC's `loggerLink`: a call going out (`up`) or one of its results (`down`). */
export interface LogEntry {
  direction: 'up' | 'down';
  type: 'query' | 'mutation' | 'subscription';
  path: string;
  /** For `down`: `'error'`, or the result's type (`'data'`, `'started'`, …). */
  outcome?: string;
}

/**
 * A tRPC client composed as an app would compose it: tRPC's `loggerLink` (collecting entries),
 * then a `splitLink` that sends `connectionInfo` over plain tRPC HTTP with its own auth and
 * everything else through the Duplex links, over one connection with tiny backoffs.
 */
export function composedTestClient(url: string, opts: Partial<DuplexConnectionOptions> = {}) {
  const log: LogEntry[] = [];
  const connection = createDuplexConnection({
    url,
    token: 'user:alice',
    reconnect: { delayMs: () => 10 },
    ...opts,
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      loggerLink({
        logger: (entry) => {
          const { direction, type, path } = entry;
          if (entry.direction === 'up') return void log.push({ direction, type, path });
          const { result } = entry;
          const outcome =
            result instanceof Error
              ? 'error'
              : ((result.result as { type?: string }).type ?? 'data');
          log.push({ direction, type, path, outcome });
        },
      }),
      splitLink({
        condition: (op) => op.path === 'connectionInfo',
        true: httpBatchLink({
          url: url.replace(/^ws/, 'http'),
          transformer: superjson,
          headers: { authorization: 'Bearer user:alice' },
        }),
        false: duplexLinks<AppRouter>({ connection }),
      }),
    ],
  });
  return {
    connection,
    client,
    log,
    /** The log entries of one procedure. */
    logOf: (path: string) => log.filter((entry) => entry.path === path),
    [Symbol.asyncDispose]: () => connection.close(),
  };
}

/** Consecutive repeats collapsed: `['a', 'a', 'b']` → `['a', 'b']`. */
export function collapse<T>(items: readonly T[]): T[] {
  return items.filter((item, index) => index === 0 || items[index - 1] !== item);
}
