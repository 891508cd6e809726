import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AnyRouter, inferRouterContext } from '@trpc/server';
import { WebSocketServer } from 'ws';
import { type AllowedOrigins, type Authenticate, isOriginAllowed } from './auth';
import type { Broker } from './broker';
import { createDuplexHandler } from './duplexHandler';
import { DuplexSocket } from './duplexSocket';
import { assertStaticDir, createHttpRoutes, type DuplexRoute } from './httpRoutes';
import type { DuplexContext } from './initDuplex';
import { createKeepAlive, type KeepAliveOptions } from './keepAlive';
import { type DuplexLimits, limitsDefaults } from './limits';
import { createMemoryBroker } from './memoryBroker';
import { createMetrics, type DuplexMetrics, renderMetrics } from './metrics';
import { closeCodes } from './protocol';
import { reconnectNotification } from './tokenExpiry';
import { createWsConnections } from './wsConnections';

/** The user type of a router built with `initDuplex<TUser>()`. */
export type inferDuplexUser<TRouter extends AnyRouter> =
  inferRouterContext<TRouter> extends DuplexContext<infer TUser> ? TUser : never;

/** The WebSocket handlers {@link createDuplexServer} can serve tRPC with. */
export type DuplexHandlerKind = 'duplex' | 'stock';

/** Options of {@link createDuplexServer}. */
export interface DuplexServerOptions<TRouter extends AnyRouter> {
  /** The app router, built with `initDuplex()`. */
  router: TRouter;
  /** Establishes the user of each connection; see {@link Authenticate}. */
  authenticate: Authenticate<inferDuplexUser<TRouter>>;
  /**
   * Where subscriptions are fanned out and resumed from. A broker you pass is yours to close;
   * the default one closes with the server.
   * @default createMemoryBroker()
   */
  broker?: Broker;
  /**
   * The path of the WebSocket endpoint and of plain HTTP calls (`<path>/<procedure>`).
   * @default '/trpc'
   */
  path?: string;
  /** A directory served as static files for every other GET. */
  staticDir?: string;
  /** Extra HTTP routes, e.g. `createChatAttachmentRoute(...)`; checked before static files. */
  routes?: readonly DuplexRoute[];
  /**
   * Browser origins allowed to open a socket. Browsers from other origins are refused at the
   * upgrade (HTTP 403); clients without an `Origin` header (Node) always pass.
   * @default same origin only
   */
  allowedOrigins?: AllowedOrigins;
  /** Resource limits; see {@link DuplexLimits} for each default. */
  limits?: Partial<DuplexLimits>;
  /**
   * Which WebSocket handler serves tRPC. `'duplex'` is Duplex's own: the same wire protocol, with
   * each published event encoded once for all its subscribers, one bounded send buffer per
   * socket (slow consumers are closed with 4507) and rate limits applied to raw frames as they
   * are parsed. `'stock'` is `@trpc/server`'s `getWSConnectionHandler` with the same auth and
   * limits wrapped around it. Routers and clients work unchanged with either.
   * @default 'duplex'
   */
  handler?: DuplexHandlerKind;
  /** Ping interval and dead-peer timeout; see {@link KeepAliveOptions}. */
  keepAlive?: KeepAliveOptions;
  /**
   * How long before a token's `expiresAt` the server asks the connection to reconnect with a
   * fresh one. The lead is capped at half the token's remaining life, so a short-lived token is
   * refreshed halfway through it.
   * @default 30_000
   */
  tokenRefreshLeadMs?: number;
  /**
   * Receives unexpected server-side errors (a failing `authenticate`, a procedure's internal
   * error). Clients never see these details.
   * @default console.error
   */
  onError?: (error: unknown) => void;
}

/** Options of {@link DuplexServer.close}. */
export interface DuplexCloseOptions {
  /**
   * How long clients get to move to another server after being asked to reconnect, before the
   * remaining sockets are closed with 1012 (Service Restart).
   * @default 5_000
   */
  drainTimeoutMs?: number;
}

/** A running (or ready to run) Duplex server. */
export interface DuplexServer extends AsyncDisposable {
  /** The Node HTTP server; the WebSocket endpoint is on it too. */
  readonly httpServer: Server;
  readonly broker: Broker;
  /** Starts listening. Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting, asks clients to reconnect, drains, then closes what is left. */
  close(opts?: DuplexCloseOptions): Promise<void>;
  /** The live counters behind `GET /metrics`. */
  readonly metrics: Readonly<DuplexMetrics>;
  /** Open WebSocket connections. */
  readonly connections: number;
}

const hardCloseGraceMs = 1_000;

/**
 * Serves a router on one port: WebSocket (every call, subscriptions included) and plain HTTP
 * (queries and mutations, `GET /healthz`, `GET /metrics`, static files).
 * @example
 * ```ts
 * const server = createDuplexServer({
 *   router: appRouter,
 *   authenticate: ({ connectionParams }) =>
 *     connectionParams?.token === 'secret' ? { user: { id: 'u1' } } : null,
 * });
 * const { url } = await server.listen(3000);
 * ```
 */
export function createDuplexServer<TRouter extends AnyRouter>(
  opts: DuplexServerOptions<TRouter>,
): DuplexServer {
  if (opts.staticDir !== undefined) assertStaticDir(opts.staticDir);
  const limits: DuplexLimits = { ...limitsDefaults, ...opts.limits };
  const path = opts.path ?? '/trpc';
  const broker = opts.broker ?? createMemoryBroker();
  const onError = opts.onError ?? ((error: unknown) => console.error('[duplex]', error));
  const authenticate = opts.authenticate as Authenticate<unknown>;
  const metrics = createMetrics();
  let closing = false;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    WebSocket: DuplexSocket,
    // Compression costs CPU and memory per socket and enables compression-oracle attacks.
    perMessageDeflate: false,
  });
  const keepAlive = createKeepAlive(opts.keepAlive ?? {}, () => {
    metrics.reapedDeadPeers++;
  });
  const createConnections =
    (opts.handler ?? 'duplex') === 'duplex' ? createDuplexHandler : createWsConnections;
  const connections = createConnections({
    router: opts.router,
    wss,
    authenticate,
    broker,
    limits,
    metrics,
    keepAlive,
    tokenRefreshLeadMs: opts.tokenRefreshLeadMs ?? 30_000,
    onError,
  });
  wss.on('connection', (socket: DuplexSocket, req: IncomingMessage) => {
    socket.on('error', () => {
      // `ws` reports protocol violations here and then closes the socket; nothing to add.
    });
    connections.onConnection(socket, req);
  });

  const httpServer = createServer(
    createHttpRoutes({
      router: opts.router,
      path,
      authenticate,
      broker,
      limits,
      staticDir: opts.staticDir,
      routes: opts.routes ?? [],
      isClosing: () => closing,
      renderMetrics: () => renderMetrics(metrics, wss.clients.size),
      onError,
    }),
  );

  const refuseUpgrade = (socket: Duplex, status: number, reason: string) => {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== path) return refuseUpgrade(socket, 404, 'Not Found');
    if (!isOriginAllowed(req, opts.allowedOrigins)) {
      metrics.refusedOrigin++;
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (closing || wss.clients.size >= limits.maxConnections) {
      metrics.refusedCapacity++;
      return refuseUpgrade(socket, 503, 'Service Unavailable');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const waitForSockets = async (timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    while (wss.clients.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  let closed: Promise<void> | null = null;
  const close = (closeOpts: DuplexCloseOptions = {}) => {
    closed ??= shutdown(closeOpts);
    return closed;
  };
  const shutdown = async (closeOpts: DuplexCloseOptions) => {
    closing = true;
    const serverClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
    for (const socket of wss.clients) socket.send(reconnectNotification);
    await waitForSockets(closeOpts.drainTimeoutMs ?? 5_000);
    for (const socket of wss.clients) socket.close(closeCodes.serviceRestart, 'Server restarting');
    await waitForSockets(hardCloseGraceMs);
    for (const socket of wss.clients) socket.terminate();
    keepAlive.stop();
    httpServer.closeAllConnections();
    await serverClosed;
    // A broker passed in may be shared (other servers, a restart); only our own is closed.
    if (!opts.broker) await broker.close();
  };

  return {
    httpServer,
    broker,
    metrics,
    get connections() {
      return wss.clients.size;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const address = httpServer.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ port: address.port, url: `http://${shownHost}:${address.port}` });
        });
      });
    },
    close,
    [Symbol.asyncDispose]: () => close({ drainTimeoutMs: 0 }),
  };
}
