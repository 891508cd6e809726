import { createServer as createNetServer, type Socket } from 'node:net';
import {
  type Authenticate,
  createDuplexServer,
  type DuplexHandlerKind,
  type DuplexServer,
  type KeepAliveOptions,
} from '@duplex/server';
import {
  type CreateTRPCClientOptions,
  createTRPCClient,
  createWSClient,
  type TRPCWebSocketClient,
  type WebSocketClientOptions,
  wsLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { vi } from 'vitest';
import { WebSocket } from 'ws';

/**
 * The harness tRPC's own WebSocket tests run on (`testServerAndClientResource` in
 * `trpc/trpc` `packages/client/src/__tests__/testClientResource.ts`), rebuilt on a Duplex server,
 * so that those tests, ported in `trpcWebsockets*.test.ts`, run against both Duplex handlers.
 * Names follow tRPC's harness, so a ported test reads like its original.
 */

/** Taken at load: ported suites fake timers, and disposing must not wait on a fake one. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Both handlers every ported test runs against. */
export const portedHandlers = ['duplex', 'stock'] as const satisfies readonly DuplexHandlerKind[];

/** The user every connection gets unless a test authenticates on its own. */
export interface PortedUser {
  id: string;
}

/**
 * Accepts every connection. Duplex refuses a connection without identity, where tRPC's own
 * handler has no notion of one; tRPC's tests never authenticate, so everyone is let in.
 */
export const acceptEveryone: Authenticate<PortedUser> = () => ({ user: { id: 'anyone' } });

/** `WebSocket` from `ws`, typed as the DOM one the stock client's options expect (Node 20). */
export const NodeWebSocket = WebSocket as unknown as typeof globalThis.WebSocket;

/** What a test's client factory receives, as in tRPC's harness. */
export interface PortedClientFactoryOptions {
  httpUrl: string;
  wssUrl: string;
  wsClient: TRPCWebSocketClient;
  /** Creates a client that is closed with the resource; see `ctx.createWSClient`. */
  createWSClient: (opts: WebSocketClientOptions) => TRPCWebSocketClient;
}

/** Options of {@link trpcPortedResource}. */
export interface PortedResourceOptions<TRouter extends AnyRouter> {
  handler: DuplexHandlerKind;
  /** Runs once per connection: where tRPC's tests pass `createContext`. */
  authenticate?: Authenticate<unknown>;
  keepAlive?: KeepAliveOptions;
  /** Options of the harness's own `wsClient`, over tRPC's harness defaults. */
  wsClient?: Partial<WebSocketClientOptions>;
  /** Builds the client's options (its links) instead of the harness's one `wsLink`. */
  client?: (opts: PortedClientFactoryOptions) => Partial<CreateTRPCClientOptions<TRouter>>;
}

/** A server frame (unmasked, text, final) around `text`, as `ws` itself writes one. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new Error('textFrame: only short frames are needed here');
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

/**
 * Starts a Duplex server for `router` on 127.0.0.1, port 0, and a stock tRPC client on it: a
 * `createWSClient` with `WebSocket` from `ws`, lazy unless told otherwise (as in tRPC's harness),
 * and a `wsLink` with the router's transformer. Dispose it with `await using`: every client it
 * made is closed, then the server.
 */
export async function trpcPortedResource<TRouter extends AnyRouter>(
  router: TRouter,
  opts: PortedResourceOptions<TRouter>,
) {
  const onErrorSpy = vi.fn<(error: unknown) => void>();
  const tcpSockets = new Set<Socket>();
  const upgradedSockets = new Set<Socket>();
  const connectionListeners = new Set<(socket: Socket) => void>();

  const make = () => {
    const server = createDuplexServer({
      router,
      authenticate: (opts.authenticate ?? acceptEveryone) as Authenticate<never>,
      handler: opts.handler,
      keepAlive: opts.keepAlive,
      onError: (report) => onErrorSpy(report.error),
    });
    server.httpServer.on('connection', (socket: Socket) => {
      tcpSockets.add(socket);
      socket.once('close', () => tcpSockets.delete(socket));
    });
    server.httpServer.on('upgrade', (_req, socket: Socket) => {
      upgradedSockets.add(socket);
      socket.once('close', () => upgradedSockets.delete(socket));
      for (const listener of connectionListeners) listener(socket);
    });
    return server;
  };

  let server: DuplexServer = make();
  const { port } = await server.listen(0, '127.0.0.1');
  let listening = true;
  const httpUrl = `http://127.0.0.1:${port}/trpc`;
  const wssUrl = `ws://127.0.0.1:${port}/trpc`;

  const wsClient = createWSClient({
    url: wssUrl,
    WebSocket: NodeWebSocket,
    lazy: { enabled: true, closeMs: 0 },
    ...opts.wsClient,
  });
  const wsClients = new Set<TRPCWebSocketClient>([wsClient]);
  /**
   * A stock `createWSClient` with `WebSocket` from `ws` (Node 20 has no global one), closed
   * with the resource: where tRPC's tests call `createWSClient` themselves.
   */
  const createTrackedWSClient = (clientOpts: WebSocketClientOptions) => {
    const created = createWSClient({ WebSocket: NodeWebSocket, ...clientOpts });
    wsClients.add(created);
    return created;
  };
  const transformer = router._def._config.transformer as never;
  const client = createTRPCClient<TRouter>({
    links: [wsLink<TRouter>({ client: wsClient, transformer })],
    ...opts.client?.({ httpUrl, wssUrl, wsClient, createWSClient: createTrackedWSClient }),
  } as CreateTRPCClientOptions<TRouter>);

  /** Cuts every TCP connection: for each client, its connection is lost. */
  const destroyConnections = () => {
    for (const socket of tcpSockets) socket.destroy();
  };

  const ctx = {
    router,
    handler: opts.handler,
    port,
    httpUrl,
    wssUrl,
    wsClient,
    client,
    /** Errors the server reported to `onError`. */
    onErrorSpy,
    /** The running Duplex server (a new one after `close()` and `open()`). */
    get server() {
      return server;
    },
    /** Open WebSocket connections on the server: tRPC's `wss.clients.size`. */
    get connections() {
      return server.connections;
    },
    /**
     * Calls `listener` with the TCP socket of every WebSocket the server accepts from now on:
     * tRPC's `wss.on('connection', ...)`. Duplex keeps its `ws` server to itself.
     */
    onConnection(listener: (socket: Socket) => void) {
      connectionListeners.add(listener);
    },
    /**
     * Cuts every connection, as tRPC's harness does to simulate a lost connection or a restart.
     * Duplex keeps its `ws` server to itself, so connections are cut at the TCP level.
     */
    destroyConnections,
    /**
     * Sends `{"id":null,"method":"reconnect"}` on every socket: tRPC's
     * `wssHandler.broadcastReconnectNotification()`. Duplex has no such call (it sends the same
     * notification itself on `close()` and before a token expires; see docs/server.md,
     * "Differences from tRPC's own WebSocket handler"), so the harness writes the frame onto
     * each socket, between whole frames, as Duplex's own sender writes prebuilt frames.
     */
    broadcastReconnectNotification() {
      const frame = textFrame(JSON.stringify({ id: null, method: 'reconnect' }));
      for (const socket of upgradedSockets) if (!socket.destroyed) socket.write(frame);
    },
    /** Cuts every connection and stops the server (tRPC's `close()`); `open()` restarts it. */
    async close() {
      if (!listening) throw new Error('Server is not running');
      listening = false;
      destroyConnections();
      await closeWithin(server);
    },
    /** Starts a new server on the same port with the same router (tRPC's `open()`). */
    async open() {
      if (listening) throw new Error('Server is already running');
      server = make();
      await server.listen(port, '127.0.0.1');
      listening = true;
    },
    /**
     * A stock `createWSClient` with `WebSocket` from `ws` (Node 20 has no global one), closed
     * with the resource: where tRPC's tests call `createWSClient` themselves.
     */
    createWSClient: createTrackedWSClient,
    async [Symbol.asyncDispose]() {
      // tRPC's harness leaves its clients reconnecting; here they stop, so no test outlives
      // itself. A client waits for its calls in flight, so the wait is bounded.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...wsClients].map((it) => it.close())),
        new Promise((resolve) => {
          timer = realSetTimeout(resolve, 1_000);
        }),
      ]);
      realClearTimeout(timer);
      if (listening) {
        listening = false;
        destroyConnections();
        await closeWithin(server);
      }
    },
  };
  return ctx;
}

/** How long closing a server with every connection cut may take, even under fake timers. */
const serverCloseBoundMs = 5_000;

/**
 * Closes a server, failing after {@link serverCloseBoundMs} (on a real timer) rather than letting
 * a test hang until its timeout if `close()` waits on timers a suite has faked.
 */
async function closeWithin(server: DuplexServer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = realSetTimeout(
      () => reject(new Error(`server.close() did not finish within ${serverCloseBoundMs} ms`)),
      serverCloseBoundMs,
    );
  });
  try {
    await Promise.race([server.close({ drainTimeoutMs: 0 }), bound]);
  } finally {
    realClearTimeout(timer);
  }
}

/** Resolves with what `promise` rejects with; fails if it resolves (tRPC's `waitError`). */
export async function waitError<TError = Error>(
  promise: Promise<unknown> | (() => unknown),
  errorConstructor?: new (...args: never[]) => TError,
): Promise<TError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (cause) {
    if (errorConstructor && !(cause instanceof errorConstructor)) {
      throw new Error(`Expected a ${errorConstructor.name}, got ${String(cause)}`);
    }
    return cause as TError;
  }
  throw new Error('Function did not throw');
}

/** A port nothing listens on: bound on 127.0.0.1 by the OS, then released. */
export async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
