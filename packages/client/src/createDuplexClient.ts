import { createTRPCClientProxy, type TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { type DuplexClientOptions, duplexConnectionDefaults } from './clientOptions';
import type { StatusStore } from './connectionStatus';
import { createDirectCalls, DuplexUntypedClient } from './directCalls';
import { DuplexClientError } from './duplexClientError';
import { connectionPort, createDuplexConnection } from './duplexConnection';
import { duplexLinks, mayRetry } from './duplexLinks';
import type { TransportStore } from './transportLink';

/** The typed tRPC client, plus `$status`, `$transport` and `$close()`. */
export type DuplexClient<TRouter extends AnyRouter> = TRPCClient<TRouter> &
  AsyncDisposable & {
    /** The connection status; read it or subscribe to changes. */
    readonly $status: StatusStore;
    /** The transport in use: `'websocket'`, or `'http'` after a fallback. */
    readonly $transport: TransportStore;
    /** Closes the connection for good: subscriptions complete, pending calls fail with `CLOSED`. */
    $close(): Promise<void>;
  };

/**
 * Creates the typed client: a {@link DuplexClientConnection}, the {@link duplexLinks} over it, and a
 * direct path for calls while a socket is open. The default `WebSocket` is the browser's, or
 * `ws` in Node (picked by the `browser` export condition). To add links of your own, compose
 * the client from {@link createDuplexConnection} and {@link duplexLinks} instead.
 * @example
 * ```ts
 * import type { AppRouter } from './server';
 * const client = createDuplexClient<AppRouter>({ url: 'ws://localhost:3000/trpc', token: 'secret' });
 * const me = await client.whoami.query();
 * client.$status.subscribe((s) => console.log(s.state));
 * ```
 */
export function createDuplexClient<TRouter extends AnyRouter>(
  opts: DuplexClientOptions,
): DuplexClient<TRouter> {
  const connection = createDuplexConnection(opts);
  const port = connectionPort(connection);
  const maxCallRetries = opts.maxCallRetries ?? duplexConnectionDefaults.maxCallRetries;
  const directCalls = createDirectCalls({
    socket: port.socket,
    transformer: port.transformer,
    usesSocket: () => connection.transport.get() === 'websocket',
    mayRetry: (type, callOpts, error) =>
      maxCallRetries > 0 && mayRetry(port, type, callOpts?.context, { cause: error }),
    toError: (cause) => port.terminalError() ?? DuplexClientError.fromUnknown(cause),
  });
  const untyped = new DuplexUntypedClient<TRouter>(
    { links: duplexLinks<TRouter>({ connection }) },
    directCalls,
  );
  const trpc = createTRPCClientProxy<TRouter>(untyped);
  const close = () => connection.close();
  const extras: Record<PropertyKey, unknown> = {
    $status: connection.status,
    $transport: connection.transport,
    $close: close,
    [Symbol.asyncDispose]: close,
  };
  return new Proxy(trpc, {
    get: (target, prop, receiver) =>
      Object.hasOwn(extras, prop) ? extras[prop] : Reflect.get(target, prop, receiver),
  }) as DuplexClient<TRouter>;
}
