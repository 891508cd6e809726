import type { TRPCError } from '@trpc/server';
import type { DuplexContext } from './initDuplex';
import type { DuplexLogger } from './logger';

/** How a failed call reached the server. */
export type DuplexTransport = 'websocket' | 'http';

/**
 * What was running when an error reached `onError`:
 * - `'call'`: a query or mutation;
 * - `'subscription'`: a subscription, while it started or while it ran;
 * - `'connection'`: the connection itself (a throwing `authenticate`, a reply that could not be
 *   encoded, a call that failed outside its procedure);
 * - `'route'`: an HTTP route of `routes` or the static files;
 * - `'background'`: work no client waits on (a module's sweep, presence, a Redis feed). `task`
 *   names it, e.g. `'chat.streamSweep'`.
 */
export type DuplexErrorSource = 'call' | 'subscription' | 'connection' | 'route' | 'background';

/** The fields every report has, set where the failure had them. */
interface ErrorReportFields<TContext> {
  /** The transport of the call or connection; `undefined` for background work. */
  transport: DuplexTransport | undefined;
  /** The procedure's path (`chat.send`), or the route's pathname; `undefined` if none. */
  path: string | undefined;
  /** The procedure's type, `'unknown'` when the failure was not in a procedure. */
  type: 'query' | 'mutation' | 'subscription' | 'unknown';
  /** The context of the connection or call (who it was for), once it was created. */
  ctx: TContext | undefined;
  /** The call's input, as the client sent it (after the transformer). */
  input: unknown;
  /** The background task that failed (`'chat.streamSweep'`); `undefined` for other sources. */
  task: string | undefined;
}

/**
 * One error reported to `onError`, with where and for whom it happened, like tRPC's
 * `onError({ error, path, type, ctx, req, input })`. Narrow on `source`: a call's error is
 * always a `TRPCError` (the procedure's error is its `cause`).
 */
export type DuplexErrorReport<TContext = DuplexContext<unknown>> =
  | (ErrorReportFields<TContext> & {
      source: 'call' | 'subscription';
      error: TRPCError;
      transport: DuplexTransport;
    })
  | (ErrorReportFields<TContext> & {
      source: 'connection' | 'route';
      error: unknown;
      transport: DuplexTransport;
    })
  | (ErrorReportFields<TContext> & { source: 'background'; error: unknown; task: string });

/**
 * Receives unexpected server-side errors with their context. The server and the modules
 * (`createChatRouter({ onError })`, `createRedisBroker({ onError })`, ...) take the same
 * function, so every failure, background work included, reaches one place.
 */
export type DuplexErrorHandler<TContext = DuplexContext<unknown>> = (
  report: DuplexErrorReport<TContext>,
) => void;

/** What a background failure may say about where it happened. */
export interface BackgroundErrorContext<TContext = DuplexContext<unknown>> {
  /** The call the work was started for, if it was started by one. */
  ctx?: TContext;
  /** That call's procedure path, if known. */
  path?: string;
  /** That call's input (e.g. `{ roomId }`). */
  input?: unknown;
}

/**
 * The report of a failed background `task`, for modules and apps that run work no client waits
 * on.
 * @example
 * ```ts
 * sweep().catch((error) => onError(backgroundError('chat.streamSweep', error)));
 * ```
 */
export function backgroundError<TContext = DuplexContext<unknown>>(
  task: string,
  error: unknown,
  context: BackgroundErrorContext<TContext> = {},
): DuplexErrorReport<TContext> {
  return {
    source: 'background',
    error,
    task,
    transport: undefined,
    path: context.path,
    type: 'unknown',
    ctx: context.ctx,
    input: context.input,
  };
}

/** A failure of the connection or of a route, outside any procedure. */
export function connectionError<TContext = DuplexContext<unknown>>(
  transport: DuplexTransport,
  error: unknown,
  context: { ctx?: TContext; path?: string; source?: 'connection' | 'route' } = {},
): DuplexErrorReport<TContext> {
  return {
    source: context.source ?? 'connection',
    error,
    task: undefined,
    transport,
    path: context.path,
    type: 'unknown',
    ctx: context.ctx,
    input: undefined,
  };
}

/** A failed query, mutation or subscription, as tRPC reports it. */
export function callError<TContext = DuplexContext<unknown>>(
  transport: DuplexTransport,
  call: {
    error: TRPCError;
    path: string | undefined;
    type: 'query' | 'mutation' | 'subscription' | 'unknown';
    ctx: TContext | undefined;
    input: unknown;
  },
): DuplexErrorReport<TContext> {
  return {
    ...call,
    source: call.type === 'subscription' ? 'subscription' : 'call',
    task: undefined,
    transport,
  };
}

/** The default `onError`: the error and where it happened, on stderr. */
export function logErrorReport(report: DuplexErrorReport<unknown>): void {
  const where = report.task ?? report.path ?? report.transport;
  console.error(`[duplex] ${report.source} ${where}:`, report.error);
}

/**
 * The server's default `onError` when it has a `logger`: each report at `error`, its fields
 * beside the error (`err`, as pino names it), never its `ctx` or `input` (they may hold user
 * data). With the default logger it prints what {@link logErrorReport} prints.
 */
export function errorReportLogger(logger: DuplexLogger): DuplexErrorHandler<unknown> {
  return (report) => {
    const where = report.task ?? report.path ?? report.transport;
    logger.error(
      {
        err: report.error,
        source: report.source,
        transport: report.transport,
        path: report.path,
        type: report.type,
        task: report.task,
      },
      `${report.source} ${where}`,
    );
  };
}
