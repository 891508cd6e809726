import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { type AnyRouter, TRPCError } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import sirv from 'sirv';
import { type Authenticate, AuthRefusedError, runAuthenticate } from './auth';
import type { Broker } from './broker';
import { type ConnectionRegistry, LiveEventStream } from './connectionRegistry';
import {
  type ConnectionCounters,
  createConnection,
  newConnectionId,
  readClientParams,
  setExpiry,
} from './connectionState';
import { callError, connectionError, type DuplexErrorHandler } from './errorReport';
import type { DuplexContext } from './initDuplex';
import type { DuplexLimits } from './limits';
import type { DuplexMetrics } from './metrics';
import { requestUrlOf } from './requestUrl';
import type { ServerFigures } from './serverFigures';
import { createKeyedBuckets } from './tokenBucket';
import type { CallTracer } from './tracing';
import { userIdOf, userKeyOf } from './userBudgets';

/** An extra HTTP route on the Duplex port, e.g. the chat module's attachment uploads. */
export interface DuplexRoute {
  /** Requests whose path starts with this go to `handle`, e.g. `/chat/attachments`. */
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, ctx: DuplexRouteContext): void | Promise<void>;
}

/** What a {@link DuplexRoute} gets besides the request. */
export interface DuplexRouteContext {
  /** Runs the server's `authenticate` on this request (headers, cookies); `null` if refused. */
  authenticate(): Promise<{ user: unknown } | null>;
  /** The server's limits. */
  limits: DuplexLimits;
}

export interface HttpRoutesOptions {
  router: AnyRouter;
  /** Event streams count toward its `subscriptions` gauge, as WebSocket subscriptions do. */
  metrics: DuplexMetrics;
  /** Where tRPC is served: WebSocket upgrades and plain HTTP calls. */
  path: string;
  authenticate: Authenticate<unknown>;
  broker: Broker;
  limits: DuplexLimits;
  staticDir: string | undefined;
  routes: readonly DuplexRoute[];
  isClosing: () => boolean;
  /** The text of `GET /metrics` (Prometheus text format, or the registry's OpenMetrics). */
  renderMetrics: () => Promise<string>;
  /** The `Content-Type` of `GET /metrics`: the registry's. */
  metricsContentType: string;
  /** Where unexpected errors go, with their context. */
  onError: DuplexErrorHandler;
  /** The server's live connections: event streams are listed while they last. */
  registry: ConnectionRegistry;
  /** Errors by code and each procedure's calls, as the inspector and `/metrics` report them. */
  figures: ServerFigures;
  /** Makes each call's span when the server has `tracing`; `null` without. */
  tracer: CallTracer | null;
}

/** The most a `X-Duplex-Connection-Params` header may carry. */
const maxConnectionParamsBytes = 8_192;

/**
 * The `connectionParams` the Duplex client sends with plain HTTP calls (where tRPC has none) in
 * the `X-Duplex-Connection-Params` header, as JSON: so `authenticate` sees the same token on
 * every transport. Anything else is ignored.
 */
function connectionParamsHeaderOf(req: IncomingMessage): Record<string, string | undefined> | null {
  const header = req.headers['x-duplex-connection-params'];
  if (typeof header !== 'string' || header.length > maxConnectionParamsBytes) return null;
  try {
    const parsed: unknown = JSON.parse(header);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return null;
  }
}

/** How many calls a request carries: a batch (`/a,b,c?batch=1`) is one per procedure. */
function callsIn(req: IncomingMessage): number {
  const url = requestUrlOf(req);
  if (!url) return 1;
  const { pathname, searchParams } = url;
  if (searchParams.get('batch') !== '1') return 1;
  return Math.max(1, (pathname.split('/').pop() ?? '').split(',').length);
}

/**
 * An error on a request or response stream is the client's doing (a reset connection, a write
 * after it left): the response is dropped, nothing is reported, and the server carries on.
 */
function destroyStream(this: Readable | ServerResponse) {
  this.destroy();
}

/**
 * Adds a plain HTTP request's calls to their procedures' figures, timed from the request's
 * arrival, and makes their spans when tracing. A response built as a stream (a subscription's
 * events, a streamed batch) has no results yet: only its subscriptions are counted, as started.
 */
function recordHttpCalls(
  calls: readonly { path: string; procedure: { _def: { type: string } } | null }[] | undefined,
  data: readonly unknown[] | null,
  opts: { figures: ServerFigures; tracer: CallTracer | null; user: unknown; startedAt: number },
): void {
  if (!calls) return;
  const { figures, tracer } = opts;
  const seconds = (performance.now() - opts.startedAt) / 1000;
  for (let index = 0; index < calls.length; index++) {
    const call = calls[index] as (typeof calls)[number];
    const procedure = figures.procedures.get(call.path);
    if (!procedure || call.procedure?._def.type !== procedure.type) continue;
    if (data === null && procedure.type !== 'subscription') continue;
    const error = (data?.[index] as { error?: { data?: { code?: unknown } } } | undefined)?.error;
    const code = error ? String(error.data?.code ?? 'INTERNAL_SERVER_ERROR') : null;
    procedure.record(seconds, code);
    tracer?.record(call.path, procedure.type, opts.user, {
      startTime: Date.now() - seconds * 1000,
      errorCode: code,
    });
  }
}

/** A single byte range `Range` header `sirv` serves correctly; it throws on `bytes=5-2`. */
const servableRange = /^bytes=(\d+)-(\d*)$/;

function isServableRange(range: string): boolean {
  const match = servableRange.exec(range);
  return match !== null && (match[2] === '' || Number(match[1]) <= Number(match[2]));
}

/**
 * `sirv` pipes a file stream into the response without listening for its errors (a file removed
 * or unreadable after startup, `EMFILE`): the response is destroyed instead of the process, and
 * the file is closed when the client leaves before the end.
 */
function guardStaticPipe(this: ServerResponse, source: Readable) {
  source.on('error', () => this.destroy());
  this.once('close', () => source.destroy());
}

const allowedStatic = 'GET, HEAD';

/** Fails fast, before anything is started, on a `staticDir` that cannot be served. */
export function assertStaticDir(dir: string): void {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`createDuplexServer: staticDir ${JSON.stringify(dir)} is not a directory`);
  }
}

/** The HTTP side of the server: health, metrics, tRPC over plain HTTP, and static files. */
export function createHttpRoutes(opts: HttpRoutesOptions) {
  const serveStatic = opts.staticDir ? sirv(opts.staticDir, { etag: true, dev: false }) : null;
  const prefix = `${opts.path}/`;

  // Plain HTTP calls share the WebSocket's call budget, per user (per address before sign-in
  // is known): a bucket of `burstCalls` refilled at `callsPerSecond`, in debt when overdrawn.
  const callBuckets = createKeyedBuckets({
    ratePerSecond: opts.limits.callsPerSecond,
    capacity: opts.limits.burstCalls,
  });
  const takeCalls = (key: string, cost: number) => {
    if (!callBuckets.take(key, cost)) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `Too many calls: at most ${opts.limits.callsPerSecond} per second`,
      });
    }
  };

  // A user's subscriptions over HTTP share one count, as on one WebSocket, whatever the
  // request's headers: tRPC streams any subscription call, `Accept: text/event-stream` or not.
  // Counts live in a map holding only users with an open stream, so a request that never
  // subscribes leaves nothing behind.
  const streamCounts = new Map<string, number>();
  const onSubscriptionsChange = (delta: number) => {
    opts.metrics.subscriptions += delta;
  };
  const streamCountersOf = (userKey: string): ConnectionCounters => ({
    get subscriptions() {
      return streamCounts.get(userKey) ?? 0;
    },
    set subscriptions(count: number) {
      if (count > 0) streamCounts.set(userKey, count);
      else streamCounts.delete(userKey);
    },
    maxSubscriptions: opts.limits.maxSubscriptionsPerConnection,
    onSubscriptionsChange,
  });

  const createContext = async ({
    req,
    res,
    info,
  }: {
    req: IncomingMessage;
    res: ServerResponse;
    info: {
      connectionParams: Record<string, string | undefined> | null;
      type: 'query' | 'mutation' | 'subscription' | 'unknown';
    };
  }): Promise<DuplexContext<unknown>> => {
    if (info.type === 'subscription') {
      // An event stream must reach the client as it is written: proxies must not buffer it.
      res.setHeader('X-Accel-Buffering', 'no');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
    }
    const { connectionParams, wantsCursor } = readClientParams(
      info.connectionParams ?? connectionParamsHeaderOf(req),
    );
    const result = await runAuthenticate(
      opts.authenticate,
      { req, connectionParams, transport: 'http' },
      (cause) => opts.onError(connectionError('http', cause)),
    );
    if (!result) {
      throw new TRPCError({
        code: 'UNAUTHORIZED',
        message: 'Authentication refused',
        cause: new AuthRefusedError(),
      });
    }
    const userKey = userKeyOf(result.user, req);
    takeCalls(userKey, callsIn(req));
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const connection = createConnection('http', wantsCursor, {
      limits: {
        maxSubscriptions: opts.limits.maxSubscriptionsPerConnection,
        onSubscriptionsChange,
      },
      shared: streamCountersOf(userKey),
      id: newConnectionId(),
    });
    if (info.type === 'subscription' && !res.closed) {
      const live = new LiveEventStream(connection.id, res);
      live.userId = userIdOf(result.user);
      opts.registry.add(live);
      res.once('close', () => opts.registry.delete(live));
    }
    // An event stream ends when its token does (see `initDuplex`); the client starts it again
    // with a fresh token and resumes after its last event id.
    if (result.expiresAt !== undefined) {
      setExpiry(connection, new Date(result.expiresAt).getTime());
    }
    return { user: result.user, connection, broker: opts.broker, signal: abort.signal };
  };

  /**
   * Handles a request. `next`, when given (Duplex attached to the app's server), gets every
   * request Duplex does not own: anything but `<path>/…` and the `routes`.
   */
  return (req: IncomingMessage, res: ServerResponse, next?: () => void) => {
    const url = requestUrlOf(req);
    if (!url) {
      if (next) return next();
      req.on('error', destroyStream);
      res.on('error', destroyStream);
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('Bad request');
      return;
    }
    const { pathname } = url;
    const route = opts.routes.find(
      (r) => pathname === r.prefix || pathname.startsWith(`${r.prefix}/`),
    );
    if (next && !route && !pathname.startsWith(prefix)) return next();
    req.on('error', destroyStream);
    res.on('error', destroyStream);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const isRead = req.method === 'GET' || req.method === 'HEAD';
    if (!isRead && !route && !pathname.startsWith(prefix)) {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: allowedStatic });
      res.end('Method not allowed');
      return;
    }
    if (pathname === '/healthz') {
      const closing = opts.isClosing();
      res.writeHead(closing ? 503 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: closing ? 'closing' : 'ok' }));
      return;
    }
    if (pathname === '/metrics') {
      opts.renderMetrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': opts.metricsContentType });
          res.end(text);
        },
        (cause: unknown) => {
          // An app metric whose collect() threw: reported, and the scrape fails visibly.
          opts.onError(connectionError('http', cause, { path: pathname, source: 'route' }));
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('Metrics unavailable');
        },
      );
      return;
    }
    if (pathname.startsWith(prefix)) {
      const startedAt = performance.now();
      nodeHTTPRequestHandler({
        router: opts.router,
        req,
        res,
        path: pathname.slice(prefix.length),
        maxBodySize: opts.limits.maxPayloadBytes,
        maxBatchSize: opts.limits.maxBatchSize,
        createContext: createContext as never,
        onError: ({ error, path, type, ctx, input }) => {
          opts.figures.countError(error.code);
          if (error.code !== 'INTERNAL_SERVER_ERROR') return;
          opts.onError(
            callError('http', { error, path, type, ctx: ctx as DuplexContext<unknown>, input }),
          );
        },
        responseMeta: ({ ctx, info, data, eagerGeneration }) => {
          recordHttpCalls(info?.calls, eagerGeneration ? null : data, {
            figures: opts.figures,
            tracer: opts.tracer,
            user: (ctx as DuplexContext<unknown> | undefined)?.user,
            startedAt,
          });
          return {};
        },
      }).catch((cause: unknown) =>
        opts.onError(connectionError('http', cause, { path: pathname })),
      );
      return;
    }
    if (route) {
      const authenticate = () =>
        runAuthenticate(
          opts.authenticate,
          { req, connectionParams: null, transport: 'http' },
          (cause) => opts.onError(connectionError('http', cause, { path: pathname })),
        );
      // A promise executor: a route's synchronous throw is a rejection here, not an exception
      // out of the request listener.
      new Promise<void>((resolve) =>
        resolve(route.handle(req, res, { authenticate, limits: opts.limits })),
      ).catch((cause: unknown) => {
        opts.onError(connectionError('http', cause, { path: pathname, source: 'route' }));
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Internal server error');
      });
      return;
    }
    const notFound = () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Not found');
    };
    if (!serveStatic) return notFound();
    if (req.headers.range !== undefined && !isServableRange(req.headers.range)) {
      // An unsatisfiable or multi-part range is ignored, as RFC 9110 allows: the whole file.
      delete req.headers.range;
    }
    res.on('pipe', guardStaticPipe);
    const serve = () => {
      try {
        serveStatic(req, res, notFound);
      } catch (cause) {
        opts.onError(connectionError('http', cause, { path: pathname, source: 'route' }));
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('Internal server error');
        }
      }
    };
    // A pipelined request's response waits behind the ones before it (Node gives it the socket
    // when they are done): its file is opened only then, so a socket holds one open file, not
    // `maxPipelinedRequests` (16 per socket reached 18,681 descriptors from one address, past a
    // 20,000 `nofile` limit).
    if (res.socket) serve();
    else res.once('socket', serve);
  };
}
