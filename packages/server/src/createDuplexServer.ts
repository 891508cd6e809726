import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { closeCodes } from '@duplex/protocol';
import type { AnyRouter, inferRouterContext } from '@trpc/server';
import { Registry } from 'prom-client';
import { type WebSocket, WebSocketServer } from 'ws';
import { type AllowedOrigins, type Authenticate, isOriginAllowed } from './auth';
import type { Broker } from './broker';
import { ConnectionGuard } from './connectionGuard';
import { ConnectionRegistry } from './connectionRegistry';
import { createDuplexHandler } from './duplexHandler';
import { DuplexSocket } from './duplexSocket';
import { type DuplexErrorHandler, errorReportLogger } from './errorReport';
import { assertStaticDir, createHttpRoutes, type DuplexRoute } from './httpRoutes';
import type { DuplexContext } from './initDuplex';
import type { DuplexInspector } from './inspection';
import { createInspector, defaultNodeId } from './inspector';
import { createKeepAlive, type KeepAliveOptions } from './keepAlive';
import { type DuplexLimits, limitsDefaults } from './limits';
import { consoleLogger, type DuplexLogger } from './logger';
import { createMemoryBroker } from './memoryBroker';
import { createMetrics, type DuplexMetrics, registerDuplexMetrics, renderMetrics } from './metrics';
import { realTimers } from './realTimers';
import { requestUrlOf } from './requestUrl';
import { ServerFigures } from './serverFigures';
import { reconnectNotification } from './tokenExpiry';
import { CallTracer, type DuplexTracingOptions } from './tracing';
import { UserBudgets } from './userBudgets';
import { createWsConnections } from './wsConnections';
import { wsInternalsFallbackReport } from './wsInternals';

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
  /**
   * Serves HTTPS and `wss://` with these TLS options (`key` and `cert`, or `pfx`, and anything
   * else `https.createServer` takes). Behind a proxy that terminates TLS, leave it out.
   */
  tls?: TlsOptions;
  /**
   * Attaches to a server your app already owns (`node:http` or `node:https`, e.g. the one an
   * Express app listens on) instead of creating one. Duplex then handles the WebSocket upgrade on
   * `path`, plain HTTP calls under `path/` and its `routes`, and leaves every other request and
   * upgrade to the app. The app's server listens and closes; `close()` detaches Duplex.
   */
  server?: Server;
  /** A directory served as static files for every other GET (not when attached). */
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
   * Receives unexpected server-side errors with their context: a procedure's
   * `INTERNAL_SERVER_ERROR` (with its `path`, `type`, `ctx` and `input`), a failing
   * `authenticate`, a failing route. Pass the same function to the modules
   * (`createChatRouter({ onError })`, `createRedisBroker({ onError })`) and their background
   * failures arrive here too (`source: 'background'`), as does one warning when the server is
   * created if `ws`'s internals failed the startup check (`task: 'server.wsInternals'`: frames
   * then go through `socket.send`, uncorked). Clients never see these details.
   *
   * It used to receive the bare error (changed before 1.0): the error is `report.error`.
   * @default logs each report at `error` through `logger` (with the default logger:
   * `[duplex] <source> <path or task>:` and the error, with console.error)
   */
  onError?: DuplexErrorHandler<inferRouterContext<TRouter>>;
  /**
   * Where the server logs: a pino-compatible logger (`error/warn/info/debug(obj, msg?)`), e.g.
   * `pino()` or a child of it. Operator disconnects are logged at `warn`
   * (`event: 'duplex.operatorDisconnect'`), and the default `onError` logs at `error`.
   * @default errors to console.error and warnings to console.warn, as `[duplex] …`; info and
   * debug silent
   */
  logger?: DuplexLogger;
  /**
   * This process's name in `server.inspector` figures, `/metrics` and the admin dashboard;
   * unique per node of a cluster.
   * @default `<hostname>:<pid>:<random 6 characters>`
   */
  nodeId?: string;
  /**
   * The prom-client `Registry` that `GET /metrics` renders: Duplex registers its `duplex_*`
   * families in it, and the app registers its own metrics beside them. Its families are removed
   * when the server closes, so a registry can serve the next server of a restart; two open
   * servers cannot share one (the second throws).
   * @default a new `Registry` per server (`server.registry`)
   */
  registry?: Registry;
  /**
   * Appends prom-client's default process metrics (`process_cpu_*`, `process_resident_memory_bytes`,
   * `nodejs_eventloop_lag_*`, `nodejs_heap_*`, GC) to `GET /metrics`. They are collected once per
   * process, not per server, and left out when `registry` already has them (an app that called
   * `collectDefaultMetrics` on it) or speaks OpenMetrics.
   * @default true
   */
  processMetrics?: boolean;
  /**
   * Traces calls with OpenTelemetry: a span per query or mutation and per subscription start,
   * named by the procedure path (`rpc.system`, `rpc.method`, `duplex.type`, `duplex.transport`,
   * `enduser.id` if `recordUserId`), failed ones with an error status and their tRPC code. On
   * the Duplex handler the span is active while the procedure runs; plain HTTP calls get theirs
   * once answered; the stock handler's, for procedures built on `duplex.procedure`. Without it,
   * no span is made.
   * @default none
   */
  tracing?: DuplexTracingOptions;
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
  /** The Node HTTP(S) server; the WebSocket endpoint is on it too. */
  readonly httpServer: Server;
  readonly broker: Broker;
  /** Starts listening. Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting, asks clients to reconnect, drains, then closes what is left. */
  close(opts?: DuplexCloseOptions): Promise<void>;
  /** The live counters behind `GET /metrics`. */
  readonly metrics: Readonly<DuplexMetrics>;
  /**
   * The prom-client registry `GET /metrics` renders (the `registry` option, or the server's
   * own): register the app's metrics in it to serve them beside Duplex's.
   * @example
   * ```ts
   * new Counter({ name: 'app_messages_total', help: 'Messages sent', registers: [server.registry] });
   * ```
   */
  readonly registry: Registry;
  /** Open WebSocket connections. */
  readonly connections: number;
  /**
   * The node's figures and live connections, and the operator's disconnect actions; what
   * `@duplex/admin` shows.
   * @example
   * ```ts
   * const { calls, eventLoopDelayMs } = server.inspector.stats();
   * for (const c of server.inspector.connections({ userId: 'u1' })) server.inspector.disconnect(c.id);
   * ```
   */
  readonly inspector: DuplexInspector;
}

const hardCloseGraceMs = 1_000;

/** One listener for every upgraded socket; a closure would keep each upgrade request alive. */
function destroyOnError(this: Duplex) {
  this.destroy();
}

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
  if (opts.server && (opts.tls || opts.staticDir !== undefined)) {
    throw new Error(
      'createDuplexServer: with `server` (attached), TLS and static files are the app server’s',
    );
  }
  const limits: DuplexLimits = { ...limitsDefaults, ...opts.limits };
  const path = opts.path ?? '/trpc';
  const broker = opts.broker ?? createMemoryBroker();
  const logger = opts.logger ?? consoleLogger;
  const onError = (opts.onError ?? errorReportLogger(logger)) as DuplexErrorHandler;
  const authenticate = opts.authenticate as Authenticate<unknown>;
  const metrics = createMetrics();
  const liveConnections = new ConnectionRegistry();
  const figures = new ServerFigures(opts.router);
  const tracer = opts.tracing ? new CallTracer(opts.tracing) : null;
  const inspector = createInspector({
    nodeId: opts.nodeId ?? defaultNodeId(),
    registry: liveConnections,
    figures,
    metrics,
    broker,
    logger,
  });
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
  const duplexHandler = (opts.handler ?? 'duplex') === 'duplex';
  // Only the Duplex handler takes the fast path; the stock one always sends through `ws`.
  const fallback = duplexHandler ? wsInternalsFallbackReport() : null;
  if (fallback) onError(fallback);
  const createConnections = duplexHandler ? createDuplexHandler : createWsConnections;
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
    userBudgets: new UserBudgets(limits),
    registry: liveConnections,
    figures,
    tracer,
  });
  wss.on('connection', (socket: DuplexSocket, req: IncomingMessage) => {
    socket.onServerClose = figures.countClose;
    socket.on('error', () => {
      // `ws` reports protocol violations here and then closes the socket; nothing to add.
    });
    connections.onConnection(socket, req);
  });

  const registry = opts.registry ?? new Registry();
  const unregisterMetrics = registerDuplexMetrics(registry, {
    metrics,
    connections: liveConnections,
    figures,
    webSockets: () => wss.clients.size,
  });
  const withProcessMetrics = opts.processMetrics ?? true;

  const handleRequest = createHttpRoutes({
    router: opts.router,
    path,
    authenticate,
    broker,
    limits,
    staticDir: opts.staticDir,
    routes: opts.routes ?? [],
    isClosing: () => closing,
    renderMetrics: () => renderMetrics(registry, withProcessMetrics),
    metricsContentType: registry.contentType,
    metrics,
    onError,
    registry: liveConnections,
    figures,
    tracer,
  });
  const attached = opts.server !== undefined;
  let detachRequests = () => {};
  let httpServer: Server;
  if (opts.server) {
    // The app's own request listeners get every request Duplex does not own.
    httpServer = opts.server;
    const appListeners = httpServer.listeners('request') as RequestListener[];
    const dispatch: RequestListener = (req, res) =>
      handleRequest(req, res, () => {
        if (appListeners.length === 0) {
          res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('Not found');
        }
        for (const listener of appListeners) listener.call(httpServer, req, res);
      });
    httpServer.removeAllListeners('request');
    httpServer.on('request', dispatch);
    detachRequests = () => {
      httpServer.off('request', dispatch);
      for (const listener of appListeners) httpServer.on('request', listener);
    };
  } else {
    const guard = new ConnectionGuard({ limits, metrics, webSockets: () => wss.clients.size });
    const admitted: RequestListener = (req, res) => {
      if (guard.admit(req, res)) handleRequest(req, res);
    };
    httpServer = opts.tls
      ? (createHttpsServer(opts.tls, admitted) as unknown as Server)
      : createServer(admitted);
    // Ahead of Node's own listener, so that a socket over the caps is never read.
    httpServer.prependListener('connection', guard.onConnection);
  }

  const refuseUpgrade = (socket: Duplex, status: number, reason: string) => {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = requestUrlOf(req)?.pathname;
    if (pathname !== path) {
      // Attached: another upgrade listener of the app's (its own WebSocket server) may want it.
      if (attached && httpServer.listenerCount('upgrade') > 1) return;
      socket.on('error', destroyOnError);
      return refuseUpgrade(socket, 404, 'Not Found');
    }
    socket.on('error', destroyOnError);
    if (!isOriginAllowed(req, opts.allowedOrigins)) {
      metrics.refusedOrigin++;
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (closing || wss.clients.size >= limits.maxConnections) {
      metrics.refusedCapacity++;
      return refuseUpgrade(socket, 503, 'Service Unavailable');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  httpServer.on('upgrade', onUpgrade);

  /**
   * Resolves once every socket has closed, or after `timeoutMs`. Driven by the sockets' `close`
   * events and one real timer, not by polling a clock: a test that fakes timers must not be able
   * to keep `close()` waiting forever.
   */
  const waitForSockets = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      if (wss.clients.size === 0 || timeoutMs <= 0) return resolve();
      const done = () => {
        realTimers.clearTimeout(timer);
        wss.off('connection', watch);
        resolve();
      };
      const onClose = () => {
        if (wss.clients.size === 0) done();
      };
      // `ws` forgets a socket before its `close` listeners run, so the count is already down.
      const watch = (socket: WebSocket) => socket.once('close', onClose);
      const timer = realTimers.setTimeout(done, timeoutMs);
      for (const socket of wss.clients) watch(socket);
      // An upgrade already past the `closing` check when shutdown began still lands.
      wss.on('connection', watch);
    });

  let closed: Promise<void> | null = null;
  const close = (closeOpts: DuplexCloseOptions = {}) => {
    closed ??= shutdown(closeOpts);
    return closed;
  };
  const shutdown = async (closeOpts: DuplexCloseOptions) => {
    closing = true;
    // Attached, the app's server stays up: Duplex lets go of it instead.
    const serverClosed = attached
      ? Promise.resolve()
      : new Promise<void>((resolve) => httpServer.close(() => resolve()));
    for (const socket of wss.clients) socket.send(reconnectNotification);
    await waitForSockets(closeOpts.drainTimeoutMs ?? 5_000);
    for (const socket of wss.clients) socket.close(closeCodes.serviceRestart, 'Server restarting');
    await waitForSockets(hardCloseGraceMs);
    for (const socket of wss.clients) socket.terminate();
    keepAlive.stop();
    if (attached) {
      httpServer.off('upgrade', onUpgrade);
      detachRequests();
    } else {
      httpServer.closeAllConnections();
    }
    await serverClosed;
    inspector.stop();
    unregisterMetrics();
    // A broker passed in may be shared (other servers, a restart); only our own is closed.
    if (!opts.broker) await broker.close();
  };

  return {
    httpServer,
    broker,
    metrics,
    registry,
    inspector: {
      nodeId: inspector.nodeId,
      stats: inspector.stats,
      connections: inspector.connections,
      disconnect: inspector.disconnect,
      disconnectUser: inspector.disconnectUser,
    },
    get connections() {
      return wss.clients.size;
    },
    listen(port = 0, host = '127.0.0.1') {
      if (attached) {
        return Promise.reject(
          new Error('createDuplexServer: attached to your server, which listens on its own'),
        );
      }
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const address = httpServer.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          const scheme = opts.tls ? 'https' : 'http';
          resolve({ port: address.port, url: `${scheme}://${shownHost}:${address.port}` });
        });
      });
    },
    close,
    [Symbol.asyncDispose]: () => close({ drainTimeoutMs: 0 }),
  };
}
