import { closeCodes, fatalCloseCodes } from '@duplex/protocol';
import {
  createTRPCClientProxy,
  httpBatchLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import superjson, { type SuperJSONResult } from 'superjson';
import { defaultEventSource } from '#eventsource';
import { defaultWebSocket, webSocketWithTls } from '#websocket';
import { type DuplexClientOptions, duplexClientDefaults } from './clientOptions';
import { createStatusStore, type DuplexStatus, type StatusStore } from './connectionStatus';
import { createDirectCalls, DuplexUntypedClient, directAttemptsKey } from './directCalls';
import { closeCodeOf, DuplexClientError } from './duplexClientError';
import { duplexLink } from './duplexLink';
import { createBrowserOnlineManager } from './onlineManager';
import { createReconnectPolicy, type ReconnectPolicyOptions } from './reconnectPolicy';
import { createSocketClient } from './socketClient';
import { socketLink } from './socketLink';
import { createTransportStore, type TransportStore, transportLink } from './transportLink';
import { createUrlPicker, type DuplexUrl } from './urlPicker';

/** Consecutive WebSocket attempts that never opened before the client tries HTTP. */
const failuresBeforeFallback = 3;

/** Close codes after which the next attempt waits as if several had failed already. */
const penalizedCloseCodes: ReadonlySet<number> = new Set([
  closeCodes.rateLimited,
  closeCodes.slowConsumer,
  closeCodes.authTimeout,
]);
const penaltyAttempt = 4;

/** The typed tRPC client, plus `$status` and `$close()`. */
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
 * Creates the typed client. The default `WebSocket` is the browser's, or `ws` in Node (picked by
 * the `browser` export condition).
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
  if (opts.tls && opts.WebSocket) throw new Error('Pass `tls` or `WebSocket`, not both');
  const BaseSocket = opts.tls ? webSocketWithTls(opts.tls) : (opts.WebSocket ?? defaultWebSocket);
  if (!BaseSocket) throw new Error('No WebSocket implementation: pass `WebSocket` in the options');
  const pickUrl = createUrlPicker(opts.url);
  const policy =
    opts.reconnect && 'delayMs' in opts.reconnect
      ? opts.reconnect
      : createReconnectPolicy(opts.reconnect as ReconnectPolicyOptions | undefined);
  const online = opts.onlineManager ?? createBrowserOnlineManager();
  const status = createStatusStore({ state: 'connecting' });
  const mode = opts.transport ?? 'auto';
  const httpUrl = opts.httpUrl ?? defaultHttpUrl(opts.url);
  if (mode === 'http' && !httpUrl)
    throw new Error("transport 'http' needs `httpUrl` with a `url` function");
  const transport = createTransportStore(mode === 'http' ? 'http' : 'websocket');
  let failedAttempts = 0;
  let probing = false;
  /** After repeated failures: HTTP answering means the socket is blocked, not the server down. */
  const maybeFallBack = () => {
    if (mode !== 'auto' || !httpUrl || transport.get() === 'http' || probing || terminal) return;
    if (failedAttempts < failuresBeforeFallback) return;
    probing = true;
    fetch(httpUrl, { method: 'GET' }).then(
      () => {
        probing = false;
        if (!terminal && openSockets === 0) {
          transport.set('http');
          refreshStatus();
        }
      },
      () => {
        probing = false;
      },
    );
  };

  let connects = 0;
  let attempt = 0;
  let openSockets = 0;
  let socketsOpened = 0;
  let nextRetryAt: number | null = null;
  let lastCloseCode: number | null = null;
  let terminal: DuplexClientError | null = null;
  const terminalListeners = new Set<() => void>();
  let wakeGate: (() => void) | null = null;

  /** Derives the status from the state above; only changes are published. */
  const refreshStatus = () => {
    if (terminal) return;
    const next: DuplexStatus =
      openSockets > 0 || transport.get() === 'http'
        ? { state: 'open', transport: openSockets > 0 ? 'websocket' : 'http' }
        : !online.isOnline()
          ? { state: 'offline' }
          : connects <= 1 && lastCloseCode === null
            ? { state: 'connecting' }
            : { state: 'reconnecting', attempt, nextRetryAt, closeCode: lastCloseCode };
    if (!shallowEqual(status.get(), next)) status.set(next);
  };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeGate = null;
        resolve();
      };
      const timer = ms === Number.POSITIVE_INFINITY ? undefined : setTimeout(done, ms);
      wakeGate = done;
    });
  const stopOnline = online.subscribe((isOnline) => {
    refreshStatus();
    if (isOnline) wakeGate?.();
  });

  /** Runs before every connection attempt: backoff, offline pause, and stop once terminal. */
  const nextUrl = async () => {
    const reconnecting = connects++ > 0;
    let wasOffline = false;
    while (!online.isOnline() && !terminal) {
      wasOffline = true;
      refreshStatus();
      await wait(Number.POSITIVE_INFINITY);
    }
    // Coming back online is the moment to retry, whatever the backoff said.
    if (reconnecting && !wasOffline && !terminal) {
      const delay = policy.delayMs(attempt);
      nextRetryAt = Date.now() + delay;
      refreshStatus();
      await wait(delay);
      attempt++;
    }
    if (terminal) throw terminal;
    nextRetryAt = null;
    refreshStatus();
    return pickUrl();
  };

  const stop = async (error: DuplexClientError, state: 'unauthorized' | 'closed') => {
    if (terminal) return;
    terminal = error;
    status.set({ state });
    stopOnline();
    wakeGate?.();
    if (state === 'unauthorized') for (const listener of terminalListeners) listener();
    socketClient.close(error);
  };

  /** The token and extra params, fetched anew for every connection (and every HTTP call). */
  const connectionParams = async (): Promise<Record<string, string>> => {
    const token = typeof opts.token === 'function' ? await opts.token() : opts.token;
    const extra = (await opts.connectionParams?.()) ?? {};
    return token == null ? extra : { ...extra, token };
  };

  const keepAlive =
    opts.keepAlive === false ? null : { ...duplexClientDefaults.keepAlive, ...opts.keepAlive };
  const socketClient = createSocketClient({
    // Backoff happens in `nextUrl`, where it can be cut short by going online.
    url: nextUrl,
    connectionParams,
    keepAlive,
    // HTTP only: the socket is never needed, so it never opens.
    lazy: mode === 'http',
    WebSocket: BaseSocket,
    onReady() {
      openSockets++;
      socketsOpened++;
      attempt = 0;
      failedAttempts = 0;
      // The socket works (again): everything moves back to it.
      if (mode === 'auto') transport.set('websocket');
      refreshStatus();
    },
    onClosed(code, wasReady) {
      if (wasReady) {
        openSockets--;
        lastCloseCode = code;
      } else {
        failedAttempts++;
      }
      if (fatalCloseCodes.has(code)) {
        void stop(
          new DuplexClientError('UNAUTHORIZED', 'The server refused the credentials'),
          'unauthorized',
        );
        return;
      }
      if (penalizedCloseCodes.has(code)) attempt = Math.max(attempt, penaltyAttempt);
      maybeFallBack();
      refreshStatus();
    },
  });
  const transformer = {
    serialize: (value: unknown) => superjson.serialize(value),
    // The frame was just parsed and is read once: no need for superjson's defensive copy.
    deserialize: (value: unknown) =>
      superjson.deserialize(value as SuperJSONResult, { inPlace: true }),
  };
  const websocket = socketLink<TRouter>({ client: socketClient, transformer });

  const maxCallRetries = opts.maxCallRetries ?? duplexClientDefaults.maxCallRetries;
  const mayRetry = (
    type: string,
    context: Record<string, unknown> | undefined,
    error: { shape?: unknown; cause?: unknown },
  ) =>
    !terminal &&
    error.shape === undefined &&
    // An oversized request would be refused again, on a fresh socket each time.
    closeCodeOf(error) !== closeCodes.payloadTooLarge &&
    (type === 'query' || (type === 'mutation' && context?.idempotent === true));
  const toError = (cause: unknown) => terminal ?? DuplexClientError.fromUnknown(cause);
  const directCalls = createDirectCalls({
    socket: socketClient,
    transformer,
    usesSocket: () => transport.get() === 'websocket',
    mayRetry: (type, callOpts, error) =>
      maxCallRetries > 0 && mayRetry(type, callOpts?.context, { cause: error }),
    toError,
  });
  const untyped = new DuplexUntypedClient<TRouter>(
    {
      links: [
        duplexLink({
          resumeStore: opts.resumeStore,
          terminalError: () => terminal,
          onTerminal(listener) {
            terminalListeners.add(listener);
            return () => terminalListeners.delete(listener);
          },
        }),
        retryLink({
          retry: ({ op, error, attempts }) =>
            attempts + Number(op.context[directAttemptsKey] ?? 0) <= maxCallRetries &&
            mayRetry(op.type, op.context, error),
        }),
        transportLink({
          transport,
          socketState: () => ({ open: openSockets > 0, opened: socketsOpened }),
          onAuthRefused: () =>
            void stop(
              new DuplexClientError('UNAUTHORIZED', 'The server refused the credentials'),
              'unauthorized',
            ),
          websocket,
          http: httpUrl
            ? splitLink({
                condition: (op) => op.type === 'subscription',
                true: httpSubscriptionLink({
                  url: httpUrl,
                  transformer: superjson,
                  connectionParams,
                  ...(defaultEventSource ? { EventSource: defaultEventSource } : {}),
                }),
                false: httpBatchLink({
                  url: httpUrl,
                  transformer: superjson,
                  // tRPC's HTTP calls carry no connectionParams; Duplex servers read this header.
                  headers: async () => ({
                    'x-duplex-connection-params': JSON.stringify(await connectionParams()),
                  }),
                }),
              })
            : websocket,
        }),
      ],
    },
    directCalls,
  );
  const trpc = createTRPCClientProxy<TRouter>(untyped);

  // HTTP only: open from the start (there is no socket to wait for).
  if (mode === 'http') refreshStatus();
  const close = () => stop(new DuplexClientError('CLOSED', 'The client was closed'), 'closed');
  const extras: Record<PropertyKey, unknown> = {
    $status: { get: status.get, subscribe: status.subscribe } satisfies StatusStore,
    $transport: { get: transport.get, subscribe: transport.subscribe } satisfies TransportStore,
    $close: close,
    [Symbol.asyncDispose]: close,
  };
  return new Proxy(trpc, {
    get: (target, prop, receiver) =>
      Object.hasOwn(extras, prop) ? extras[prop] : Reflect.get(target, prop, receiver),
  }) as DuplexClient<TRouter>;
}

function shallowEqual(a: object, b: object): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => (a as Record<string, unknown>)[key] === (b as Record<string, unknown>)[key])
  );
}

/** The HTTP endpoint beside a WebSocket URL: `ws://h/trpc` → `http://h/trpc`. */
function defaultHttpUrl(url: DuplexUrl): string | undefined {
  const first = typeof url === 'string' ? url : Array.isArray(url) ? url[0] : undefined;
  if (typeof first !== 'string') return undefined;
  return first.replace(/^ws(s?):/i, 'http$1:');
}
