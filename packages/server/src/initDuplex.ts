import { initTRPC, TRPCError } from '@trpc/server';
import { isObservable, observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { AuthRefusedError, TokenExpiredError } from './auth';
import type { Broker } from './broker';
import { callObserverOf, countersOf, type DuplexConnection, expiryOf } from './connectionState';
import { markRunnerHandled, markSubscriptionOnly } from './procedureRunner';
import { markCursorWanted, streamSourceKey, streamSourceOf } from './streamChannel';
import { setLongTimeout } from './tokenExpiry';

/**
 * The context every Duplex procedure receives. `TUser` is what your `authenticate` returns;
 * every connection is authenticated before any procedure runs, so `user` is always set.
 */
export interface DuplexContext<TUser> {
  /** The authenticated user of this connection. */
  user: TUser;
  /** The connection the call came on (`ctx.connection.id` is unique per connection). */
  connection: DuplexConnection;
  /** The server's broker, for publishing and for {@link streamChannel}. */
  broker: Broker;
  /** Aborted when the connection closes (for HTTP calls: when the request ends). */
  signal: AbortSignal;
}

/** Options of {@link initDuplex}. */
export interface InitDuplexOptions {
  /**
   * Sends error stacks and the messages of unexpected errors to clients. Keep it off in
   * production: with it off, an unexpected error reaches the client as
   * `INTERNAL_SERVER_ERROR: Internal server error` and nothing else.
   * @default false
   */
  exposeErrorDetails?: boolean;
}

/**
 * Creates the one tRPC instance an app and the Duplex modules share: the context is typed as
 * {@link DuplexContext}, superjson is the transformer, and every procedure built from
 * `procedure` counts against the per-connection subscription limit.
 * @example
 * ```ts
 * type User = { id: string; name: string };
 * export const duplex = initDuplex<User>();
 * export const appRouter = duplex.router({
 *   whoami: duplex.procedure.query(({ ctx }) => ctx.user),
 * });
 * export type AppRouter = typeof appRouter;
 * ```
 */
export function initDuplex<TUser>(opts: InitDuplexOptions = {}) {
  const exposeErrorDetails = opts.exposeErrorDetails ?? false;
  const t = initTRPC.context<DuplexContext<TUser>>().create({
    transformer: superjson,
    isDev: exposeErrorDetails,
    // Subscriptions run on the WebSocket, or over server-sent events for clients that fell back
    // to HTTP (a proxy strips the upgrade). Pings every 15 s keep proxies with a 30 s or longer
    // idle timeout from cutting a quiet stream.
    sse: {
      enabled: true,
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 40_000 },
    },
    errorFormatter({ shape, error }) {
      if (error.cause instanceof AuthRefusedError) {
        return { ...shape, data: { ...shape.data, authRefused: true } };
      }
      if (error.cause instanceof TokenExpiredError) {
        return { ...shape, data: { ...shape.data, tokenExpired: true } };
      }
      const issues = inputIssuesOf(error);
      if (issues) return { ...shape, message: issues };
      if (exposeErrorDetails || error.code !== 'INTERNAL_SERVER_ERROR') return shape;
      // An unexpected error's message can carry internals (SQL, paths, hosts).
      return { ...shape, message: 'Internal server error' };
    },
  });

  // The Duplex handler times and traces its calls itself (the runner leaves this out); on the
  // stock handler, whose calls tRPC runs, this does it, for connections that handler marked.
  const callFigures = t.middleware(
    markRunnerHandled(async ({ ctx, path, type, next }) => {
      const observer = ctx.connection ? callObserverOf(ctx.connection) : undefined;
      if (!observer) return next();
      let procedure = observer.figures.procedures.get(path);
      if (procedure?.type !== type) procedure = undefined;
      const startedAt = performance.now();
      const result = await (observer.tracer
        ? observer.tracer.traceStep(path, type, ctx.user, () => next())
        : next());
      procedure?.record(
        (performance.now() - startedAt) / 1000,
        result.ok ? null : result.error.code,
      );
      return result;
    }),
  );

  // Outside subscriptions it only calls next(): the procedure runner leaves it out of their chains.
  const subscriptionLimit = t.middleware(
    markSubscriptionOnly(async ({ ctx, type, signal, next }) => {
      // streamChannel reads it through the signal the procedure hands it (see markCursorWanted).
      if (type === 'subscription' && signal && ctx.connection?.wantsCursor)
        markCursorWanted(signal);
      const counters = type === 'subscription' ? countersOf(ctx.connection) : undefined;
      if (!counters) return next();
      if (counters.subscriptions >= counters.maxSubscriptions) {
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `Subscription limit reached: at most ${counters.maxSubscriptions} per connection`,
        });
      }
      counters.subscriptions++;
      counters.onSubscriptionsChange(1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        ctx.signal?.removeEventListener('abort', release);
        counters.subscriptions--;
        counters.onSubscriptionsChange(-1);
      };
      // tRPC before 11.25 drops a subscription whose socket closed during its setup without
      // disposing it, so only the connection's signal tells that it ended.
      ctx.signal?.addEventListener('abort', release, { once: true });
      const result = await next().catch((cause: unknown) => {
        release();
        throw cause;
      });
      if (!result.ok) {
        release();
        return result;
      }
      const expiresAt = expiryOf(ctx.connection);
      const data = expiresAt === undefined ? result.data : untilExpiry(result.data, expiresAt);
      return { ...result, data: releaseWhenDone(data, release) };
    }),
  );

  return {
    /** Builds a router; see tRPC's `t.router`. */
    router: t.router,
    /** Merges routers; see tRPC's `t.mergeRouters`. */
    mergeRouters: t.mergeRouters,
    /** The base procedure: authenticated (every Duplex connection is), with Duplex limits. */
    procedure: t.procedure.use(callFigures).use(subscriptionLimit),
    /** Creates a middleware with the Duplex context typed. */
    middleware: t.middleware,
    /** Calls procedures in-process, e.g. from tests or jobs. */
    createCallerFactory: t.createCallerFactory,
  };
}

/** The instance {@link initDuplex} returns; modules take it to share the app's tRPC instance. */
export type DuplexInstance<TUser> = ReturnType<typeof initDuplex<TUser>>;

/**
 * Calls `release` once the subscription ends, however it ends. A hand-written iterator rather
 * than an async generator: a generator suspended in `await` queues `return()` until its next
 * `yield`, which would hold a stopped subscription's slot until its next event.
 */
function releaseWhenDone(data: unknown, release: () => void): unknown {
  if (isObservable(data)) {
    return observable((observer) => {
      const subscription = data.subscribe(observer);
      return () => {
        subscription.unsubscribe();
        release();
      };
    });
  }
  const source = data as AsyncIterable<unknown>;
  if (typeof source?.[Symbol.asyncIterator] !== 'function') {
    release();
    return data;
  }
  return {
    // Same items, so a handler may still read the broker directly (see streamSourceKey).
    [streamSourceKey]: streamSourceOf(source),
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      const settle = <T extends IteratorResult<unknown>>(result: T) => {
        if (result.done) release();
        return result;
      };
      return {
        next: () =>
          iterator.next().then(settle, (cause: unknown) => {
            release();
            throw cause;
          }),
        return: async (value?: unknown) => {
          release();
          return (await iterator.return?.(value)) ?? { value, done: true as const };
        },
        throw: async (cause?: unknown) => {
          release();
          if (iterator.throw) return iterator.throw(cause);
          throw cause;
        },
      };
    },
  };
}

/**
 * Invalid input, said plainly: `title: Too big: expected string to have <=200 characters`
 * rather than the validator's JSON. `null` for any other error.
 */
function inputIssuesOf(error: TRPCError): string | null {
  if (error.code !== 'BAD_REQUEST') return null;
  const issues = (error.cause as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues) || issues.length === 0) return null;
  return issues
    .map((issue: { message?: unknown; path?: readonly unknown[] }) => {
      const path = (issue.path ?? [])
        .map((key) => (typeof key === 'object' && key !== null && 'key' in key ? key.key : key))
        .map(String)
        .join('.');
      return path ? `${path}: ${String(issue.message)}` : String(issue.message);
    })
    .join('; ');
}

/**
 * An HTTP event stream's items until its token expires, then `UNAUTHORIZED` with a
 * {@link TokenExpiredError} cause, which tells the Duplex client to start it again with a fresh
 * token. (A WebSocket gets a reconnect notification instead.)
 */
function untilExpiry(data: unknown, expiresAt: number): unknown {
  if (isObservable(data) || !data || typeof data !== 'object' || !(Symbol.asyncIterator in data)) {
    return data;
  }
  const source = data as AsyncIterable<unknown>;
  return (async function* () {
    const iterator = source[Symbol.asyncIterator]();
    let expire: () => void = () => {};
    const expired = new Promise<'expired'>((resolve) => {
      expire = () => resolve('expired');
    });
    const cancel = setLongTimeout(expire, expiresAt - Date.now());
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), expired]);
        if (next === 'expired') {
          throw new TRPCError({
            code: 'UNAUTHORIZED',
            message: 'Token expired',
            cause: new TokenExpiredError(),
          });
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      cancel();
      await iterator.return?.();
    }
  })();
}
