import type { IncomingMessage } from 'node:http';
import { closeCodes, readyNotification } from '@duplex/protocol';
import { type AnyRouter, TRPCError } from '@trpc/server';
import type { WebSocket } from 'ws';
import { runAuthenticate } from './auth';
import { LiveSocket } from './connectionRegistry';
import { countersOf, createConnection, newConnectionId, readClientParams } from './connectionState';
import { connectionError } from './errorReport';
import { FrameBudget } from './frameBudget';
import type { DuplexContext } from './initDuplex';
import type { DuplexLimits } from './limits';
import type { DuplexMetrics } from './metrics';
import { parseConnectionParamsFrame } from './parseCallFrame';
import { realTimers } from './realTimers';
import { requestUrlOf } from './requestUrl';
import { SocketRefusal } from './socketRefusal';
import { reconnectNotification, scheduleTokenExpiry } from './tokenExpiry';
import { type UserBudget, userIdKeyOf, userIdOf } from './userBudgets';
import type { WsHandlerOptions } from './wsHandlerOptions';

/** `connectionParams` as the client sent them; `null` when it sent none. */
export type ConnectionParams = Record<string, string | undefined> | null;

/**
 * How {@link ConnectionLifecycle.authenticate} ended: the procedure context, or the error the
 * client is refused with (an `id: null` frame, which each handler sends its own way; the socket
 * then closes on its own).
 */
export type AuthOutcome = { ctx: DuplexContext<unknown> } | { refused: TRPCError };

/** Where a connection's notifications (`duplex.ready`, `reconnect`) go out. */
export interface NotificationSink {
  send(frame: string): void;
}

/** A slow consumer gets this long to take its close frame before it is cut off. */
export const slowConsumerCloseGraceMs = 1_000;

/** The error of a call (or of a connection still in debt) refused by the rate limit. */
export function rateLimitError(limits: DuplexLimits): TRPCError {
  return new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: `Rate limit: at most ${limits.callsPerSecond} calls per second`,
  });
}

const gauges = new WeakMap<DuplexMetrics, (delta: number) => void>();

/** Counts subscriptions opened (+1) and closed (-1): one function per server, not per socket. */
function subscriptionsGaugeOf(metrics: DuplexMetrics): (delta: number) => void {
  let gauge = gauges.get(metrics);
  if (!gauge) {
    gauge = (delta) => {
      metrics.subscriptions += delta;
    };
    gauges.set(metrics, gauge);
  }
  return gauge;
}

/**
 * The life of one WebSocket connection, the same under both handlers (Duplex's own and the stock
 * one): an authentication timeout while its `connectionParams` are awaited, `authenticate`, the
 * refusals (4401 unauthorized, 4409 too many connections for the user, 4429 a user still in
 * debt, 4400 malformed `connectionParams`), `duplex.ready`, the token's refresh and expiry (4410),
 * the frame budgets (4429 past their debt), the slow-consumer cut-off (4507), and what the close
 * frees. The handlers differ only in how frames reach them and how a refusal's error goes out.
 */
export class ConnectionLifecycle {
  /** What the socket's frames spend; the user's budgets join it once `authenticate` names them. */
  readonly budget: FrameBudget;
  /** Aborted when the socket closes: the context's `signal`, and the token expiry timers. */
  readonly abort = new AbortController();
  /** The socket's first frame will be its `connectionParams` (it opened with `?connectionParams=1`). */
  readonly paramsFirst: boolean;
  /** The user's server-wide budget, once `authenticate` named a user with an id. */
  userBudget: UserBudget | null = null;
  /** The connection as the server's inspector lists it, from the upgrade to the close. */
  readonly live: LiveSocket;
  private authTimer: NodeJS.Timeout | undefined;
  /** Set once `authenticate` refused the connection, until the socket closes. */
  private refusal: SocketRefusal | null = null;
  /** Whether a call frame arrived (the `connectionParams` frame aside). */
  private sawCalls = false;
  /** The upgrade request, until `authenticate` has seen it. */
  private req: IncomingMessage | null;

  constructor(
    private readonly opts: WsHandlerOptions<AnyRouter>,
    private readonly socket: WebSocket,
    req: IncomingMessage,
  ) {
    const { limits, metrics } = opts;
    this.req = req;
    this.live = new LiveSocket(newConnectionId(), socket, req);
    opts.registry.add(this.live);
    this.budget = new FrameBudget(limits, () => {
      metrics.closedRateLimited++;
      socket.close(closeCodes.rateLimited, 'Rate limit exceeded');
    });
    this.paramsFirst = requestUrlOf(req)?.searchParams.get('connectionParams') === '1';
    if (this.paramsFirst) {
      this.authTimer = realTimers.setTimeout(
        () => socket.close(closeCodes.authTimeout, 'Authentication timeout'),
        limits.authTimeoutMs,
      );
    }
  }

  /**
   * Reads the `connectionParams` frame. A malformed one is refused: `announce` sends its
   * `id: null` error, then the socket closes with 4400.
   * @returns the params, or `undefined` when refused
   */
  readParams(
    text: string | null,
    announce: (error: TRPCError) => void,
  ): ConnectionParams | undefined {
    try {
      return parseConnectionParamsFrame(text);
    } catch (cause) {
      realTimers.clearTimeout(this.authTimer);
      announce(cause instanceof TRPCError ? cause : new TRPCError({ code: 'PARSE_ERROR', cause }));
      this.socket.close(closeCodes.badConnectionParams, 'Malformed connectionParams');
      return undefined;
    }
  }

  /**
   * Runs `authenticate` once, with the upgrade request and `params`, and either readies the
   * connection (`duplex.ready` through `sink`, token expiry scheduled) or refuses it.
   */
  async authenticate(params: ConnectionParams, sink: NotificationSink): Promise<AuthOutcome> {
    const { opts, socket, abort } = this;
    const { metrics, limits } = opts;
    const req = this.req as IncomingMessage;
    this.req = null;
    const { connectionParams, wantsCursor } = readClientParams(params);
    const result = await runAuthenticate(
      opts.authenticate,
      { req, connectionParams, transport: 'ws' },
      (cause) => opts.onError(connectionError('websocket', cause)),
    );
    realTimers.clearTimeout(this.authTimer);
    if (!result || abort.signal.aborted) {
      // A socket that closed while `authenticate` ran is gone: no one is left to refuse.
      if (!abort.signal.aborted) {
        metrics.refusedUnauthorized++;
        this.refusal = new SocketRefusal(socket, this.sawCalls);
      }
      return {
        refused: new TRPCError({ code: 'UNAUTHORIZED', message: 'Authentication refused' }),
      };
    }
    const userKey = userIdKeyOf(result.user);
    if (userKey !== null) {
      const userBudget = opts.userBudgets.connect(userKey);
      if (!userBudget) {
        metrics.refusedUserConnections++;
        // After the handler has sent the `id: null` error this turn.
        realTimers.setImmediate(() =>
          socket.close(closeCodes.tooManyConnections, 'Too many connections for this user'),
        );
        return {
          refused: new TRPCError({
            code: 'TOO_MANY_REQUESTS',
            message: `Too many connections: at most ${limits.maxConnectionsPerUser} per user`,
          }),
        };
      }
      this.userBudget = userBudget;
      // A user who flooded and reconnects finds their bucket in debt: closed with 4429 again.
      if (!this.budget.setUser(userBudget)) return { refused: rateLimitError(limits) };
    }
    sink.send(readyNotification);
    if (result.expiresAt !== undefined) {
      scheduleTokenExpiry(socket, {
        expiresAtMs: +result.expiresAt,
        refreshLeadMs: opts.tokenRefreshLeadMs,
        signal: abort.signal,
        sendReconnect: () => sink.send(reconnectNotification),
      });
    }
    const connection = createConnection('ws', wantsCursor, {
      limits: {
        maxSubscriptions: limits.maxSubscriptionsPerConnection,
        onSubscriptionsChange: subscriptionsGaugeOf(metrics),
      },
      id: this.live.id,
    });
    this.live.userId = userIdOf(result.user);
    this.live.counters = countersOf(connection) ?? null;
    return { ctx: { user: result.user, connection, broker: opts.broker, signal: abort.signal } };
  }

  /** Call frames arrived: a refused socket answers them, then closes. */
  onCalls(): void {
    this.sawCalls = true;
    this.refusal?.onCalls();
  }

  /** More than `maxBufferedBytes` wait unsent: closed with 4507, cut off after a grace. */
  closeSlowConsumer(): void {
    const { socket } = this;
    this.opts.metrics.closedSlowConsumer++;
    socket.close(closeCodes.slowConsumer, 'Slow consumer');
    realTimers.setTimeout(() => socket.terminate(), slowConsumerCloseGraceMs).unref();
  }

  /** The socket closed: its timers, budgets and user slot are freed, and its signal aborts. */
  onClose(): void {
    realTimers.clearTimeout(this.authTimer);
    this.budget.dispose();
    if (this.userBudget) this.opts.userBudgets.disconnect(this.userBudget);
    this.userBudget = null;
    this.opts.registry.delete(this.live);
    this.abort.abort();
  }
}
