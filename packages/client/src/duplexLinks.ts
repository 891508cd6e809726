import { closeCodes } from '@duplex/protocol';
import {
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  type TRPCLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import superjson from 'superjson';
import { defaultEventSource } from '#eventsource';
import { duplexConnectionDefaults } from './clientOptions';
import type { ConnectionPort } from './connectionPort';
import { directAttemptsKey } from './directCalls';
import { closeCodeOf } from './duplexClientError';
import { connectionPort, type DuplexClientConnection } from './duplexConnection';
import { duplexLink } from './duplexLink';
import { socketLink } from './socketLink';
import { transportLink } from './transportLink';

/** Options of {@link duplexLinks}. */
export interface DuplexLinksOptions {
  /**
   * The connection to send over, from {@link createDuplexConnection}. Several link chains (two
   * tRPC clients, or both branches of a `splitLink`) may share one connection. The links read
   * its `resumeStore` and `maxCallRetries` options.
   */
  connection: DuplexClientConnection;
}

/**
 * The links of a Duplex client, to put in a tRPC client you compose yourself, after your own
 * links (`loggerLink`, …) or as a `splitLink` branch. In order: the Duplex link (drops repeated
 * events after a resume, persists cursors, ends subscriptions when the server refuses the
 * credentials, turns errors into {@link DuplexClientError}), tRPC's `retryLink` (re-sends
 * queries and mutations marked `idempotent` whose connection dropped before the answer, up to
 * `maxCallRetries`), and the terminating transport link (the connection's WebSocket, or HTTP
 * and server-sent events after a fallback, moving open subscriptions between them).
 * @example
 * ```ts
 * import { createTRPCClient, loggerLink } from '@trpc/client';
 * import { createDuplexConnection, duplexLinks } from '@duplex/client';
 * import type { AppRouter } from './server';
 *
 * const connection = createDuplexConnection({ url: 'ws://localhost:3000/trpc', token: getToken });
 * const client = createTRPCClient<AppRouter>({
 *   links: [loggerLink(), ...duplexLinks<AppRouter>({ connection })],
 * });
 * ```
 */
export function duplexLinks<TRouter extends AnyRouter>(
  opts: DuplexLinksOptions,
): TRPCLink<TRouter>[] {
  const port = connectionPort(opts.connection);
  const maxCallRetries = port.options.maxCallRetries ?? duplexConnectionDefaults.maxCallRetries;
  const websocket = socketLink<TRouter>({ client: port.socket, transformer: port.transformer });
  return [
    duplexLink<TRouter>({
      resumeStore: port.options.resumeStore,
      terminalError: port.terminalError,
      onTerminal: port.onRefused,
    }),
    retryLink<TRouter>({
      retry: ({ op, error, attempts }) =>
        attempts + Number(op.context[directAttemptsKey] ?? 0) <= maxCallRetries &&
        mayRetry(port, op.type, op.context, error),
    }),
    transportLink({
      transport: opts.connection.transport,
      socketState: port.socketState,
      onAuthRefused: port.refuse,
      websocket,
      http: port.httpUrl ? httpLinks(port, port.httpUrl) : websocket,
    }),
  ];
}

/**
 * Whether a call that failed without an answer from the server (its connection dropped) may
 * be sent again: a query, or a mutation marked `idempotent`, while the connection runs.
 */
export function mayRetry(
  port: ConnectionPort,
  type: string,
  context: Record<string, unknown> | undefined,
  error: { shape?: unknown; cause?: unknown },
): boolean {
  return (
    !port.terminalError() &&
    error.shape === undefined &&
    // An oversized request would be refused again, on a fresh socket each time.
    closeCodeOf(error) !== closeCodes.payloadTooLarge &&
    (type === 'query' || (type === 'mutation' && context?.idempotent === true))
  );
}

/** The fallback: calls over tRPC HTTP, subscriptions over server-sent events, the same auth. */
function httpLinks(port: ConnectionPort, url: string): TRPCLink<AnyRouter> {
  return splitLink({
    condition: (op) => op.type === 'subscription',
    true: httpSubscriptionLink({
      url,
      transformer: superjson,
      connectionParams: port.connectionParams,
      ...(defaultEventSource ? { EventSource: defaultEventSource } : {}),
    }),
    false: httpBatchLink({
      url,
      transformer: superjson,
      // tRPC's HTTP calls carry no connectionParams; Duplex servers read this header.
      headers: async () => ({
        'x-duplex-connection-params': JSON.stringify(await port.connectionParams()),
      }),
    }),
  });
}
