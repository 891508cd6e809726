import type { IncomingMessage } from 'node:http';
import { closeCodes, readyNotification } from '@duplex/protocol';
import { type AnyRouter, getErrorShape, TRPCError, transformTRPCResponse } from '@trpc/server';
import { type CreateWSSContextFnOptions, getWSConnectionHandler } from '@trpc/server/adapters/ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { type Authenticate, runAuthenticate } from './auth';
import type { Broker } from './broker';
import { createConnection, readClientParams } from './connectionState';
import type { DuplexSocket, FrameGate } from './duplexSocket';
import { callError, connectionError, type DuplexErrorHandler } from './errorReport';
import { FrameBudget } from './frameBudget';
import { InFlightSlots } from './inFlightSlots';
import type { DuplexContext } from './initDuplex';
import type { KeepAlive } from './keepAlive';
import type { DuplexLimits } from './limits';
import type { DuplexMetrics } from './metrics';
import {
  binaryFrameMessage,
  type FrameRefusal,
  isUsableId,
  parseCallFrame,
  parseConnectionParamsFrame,
  parseFrame,
  tooDeepMessage,
} from './parseCallFrame';
import { realTimers } from './realTimers';
import { scanJson } from './scanJson';
import { SocketRefusal } from './socketRefusal';
import { reconnectNotification, scheduleTokenExpiry } from './tokenExpiry';
import {
  tooManyInFlightError,
  type UserBudget,
  type UserBudgets,
  userIdKeyOf,
} from './userBudgets';

export interface WsConnectionsOptions<TRouter extends AnyRouter> {
  router: TRouter;
  wss: WebSocketServer;
  authenticate: Authenticate<unknown>;
  broker: Broker;
  limits: DuplexLimits;
  metrics: DuplexMetrics;
  keepAlive: KeepAlive;
  tokenRefreshLeadMs: number;
  /** Where unexpected errors go, with their context. */
  onError: DuplexErrorHandler;
  /** Per-user budgets, shared by every connection of the server. */
  userBudgets: UserBudgets;
}

/** What the stock path keeps per socket. */
interface SocketState {
  abort: AbortController;
  authTimer?: NodeJS.Timeout;
  /** The socket's first frame will be its `connectionParams`. */
  paramsPending: boolean;
  /** Whether a call frame arrived (the `connectionParams` frame aside). */
  sawCalls: boolean;
  /** Set once `authenticate` refused the connection. */
  refusal: SocketRefusal | null;
  /** What the socket's frames spend. */
  budget: FrameBudget;
  /** The user's server-wide budget, once `authenticate` named a user with an id. */
  userBudget: UserBudget | null;
  /** The user's calls in flight on this socket, once the user is known. */
  slots: InFlightSlots | null;
}

/** The ids (as JSON text) of the queries and mutations among a frame's messages. */
function callIdsOf(messages: unknown[]): string[] {
  const ids: string[] = [];
  for (const msg of messages) {
    const { id, method } = (msg ?? {}) as { id?: unknown; method?: unknown };
    if (method !== 'query' && method !== 'mutation') continue;
    if (typeof id === 'number' || typeof id === 'string') ids.push(JSON.stringify(id));
  }
  return ids;
}

/** The error `JSON.parse` throws for `text`, which is known not to parse. */
function jsonErrorOf(text: string): unknown {
  try {
    JSON.parse(text);
    return new Error('Unexpected JSON');
  } catch (cause) {
    return cause;
  }
}

/** A slow consumer gets this long to take its close frame before it is cut off. */
const slowConsumerCloseGraceMs = 1_000;

/**
 * Serves tRPC on accepted sockets through the stock `@trpc/server` handler, with Duplex's
 * authentication, limits and token expiry around it. The handler stays behind this one file so
 * that a Duplex handler speaking the same wire protocol can replace it.
 */
export function createWsConnections<TRouter extends AnyRouter>(
  opts: WsConnectionsOptions<TRouter>,
) {
  const { limits, metrics, router } = opts;
  const config = router._def._config;
  const sockets = new WeakMap<WebSocket, SocketState>();

  const createContext = async ({
    req,
    res: socket,
    info,
  }: CreateWSSContextFnOptions): Promise<DuplexContext<unknown>> => {
    const { connectionParams, wantsCursor } = readClientParams(info.connectionParams);
    // A synchronous throw is refused like a rejection, not reported by tRPC as a failed call.
    const result = await runAuthenticate(
      opts.authenticate,
      { req, connectionParams, transport: 'ws' },
      (cause) => opts.onError(connectionError('websocket', cause)),
    );
    const state = sockets.get(socket);
    if (state) realTimers.clearTimeout(state.authTimer);
    if (!result || !state) {
      metrics.refusedUnauthorized++;
      // tRPC sends the `id: null` error for this throw and answers the calls waiting on it; its
      // own plain `close()` after that is held back, so that the socket closes with 4401.
      (socket as DuplexSocket).holdPlainClose = true;
      if (state) state.refusal = new SocketRefusal(socket, state.sawCalls);
      else socket.close(closeCodes.unauthorized, 'Unauthorized');
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Authentication refused' });
    }
    const userKey = userIdKeyOf(result.user);
    if (userKey !== null && !state.abort.signal.aborted) {
      const userBudget = opts.userBudgets.connect(userKey);
      if (!userBudget) {
        metrics.refusedUserConnections++;
        // tRPC answers with the `id: null` error thrown here; the close follows it out.
        (socket as DuplexSocket).holdPlainClose = true;
        realTimers.setImmediate(() =>
          socket.close(closeCodes.tooManyConnections, 'Too many connections for this user'),
        );
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `Too many connections: at most ${limits.maxConnectionsPerUser} per user`,
        });
      }
      state.userBudget = userBudget;
      // A user who flooded and reconnects finds their bucket in debt: closed with 4429 again.
      if (!state.budget.setUser(userBudget)) {
        (socket as DuplexSocket).holdPlainClose = true;
        throw rateLimited();
      }
      state.slots = new InFlightSlots(opts.userBudgets, userBudget);
    }
    socket.send(readyNotification);
    const { signal } = state.abort;
    if (result.expiresAt !== undefined) {
      scheduleTokenExpiry(socket, {
        expiresAtMs: +result.expiresAt,
        refreshLeadMs: opts.tokenRefreshLeadMs,
        signal,
        sendReconnect: () => socket.send(reconnectNotification),
      });
    }
    const connection = createConnection('ws', wantsCursor, {
      limits: {
        maxSubscriptions: limits.maxSubscriptionsPerConnection,
        onSubscriptionsChange: (delta) => {
          metrics.subscriptions += delta;
        },
      },
    });
    return { user: result.user, connection, broker: opts.broker, signal };
  };

  const handleTrpc = getWSConnectionHandler<TRouter>({
    router,
    wss: opts.wss,
    createContext: createContext as never,
    maxBatchSize: limits.maxBatchSize,
    onError: ({ error, path, type, ctx, input }) => {
      if (error.code !== 'INTERNAL_SERVER_ERROR') return;
      opts.onError(
        callError('websocket', {
          error,
          path,
          type,
          ctx: ctx as DuplexContext<unknown> | undefined,
          input,
        }),
      );
    },
  });

  const rateLimited = () =>
    new TRPCError({
      code: 'TOO_MANY_REQUESTS',
      message: `Rate limit: at most ${limits.callsPerSecond} calls per second`,
    });
  const batchTooLarge = () =>
    new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' });

  /** The error shape of a call refused before tRPC saw it. */
  const shapeOf = (error: TRPCError) =>
    getErrorShape({
      config,
      error,
      type: 'unknown',
      path: undefined,
      input: undefined,
      ctx: undefined,
    });

  /**
   * Answers every call in a refused frame, so clients do not wait for replies that never come;
   * `orNull` answers `id: null` when no call in it had an id, as tRPC does for a batch too large.
   */
  const rejectCalls = (socket: WebSocket, calls: unknown[], error: TRPCError, orNull = false) => {
    const shape = shapeOf(error);
    let answered = false;
    for (const msg of calls) {
      const { id, method, jsonrpc } = (msg ?? {}) as Record<string, unknown>;
      if (!isUsableId(id, limits.maxRequestIdLength) || method === 'subscription.stop') {
        continue;
      }
      if (error.code === 'TOO_MANY_REQUESTS') metrics.rateLimitedCalls++;
      answered = true;
      const reply = { id, ...(jsonrpc === '2.0' ? { jsonrpc: '2.0' as const } : {}), error: shape };
      socket.send(JSON.stringify(transformTRPCResponse(config, reply)));
    }
    if (orNull && !answered) {
      socket.send(JSON.stringify(transformTRPCResponse(config, { id: null, error: shape })));
    }
  };

  /** Sends the replies of a frame refused before tRPC saw it. */
  const sendRefusals = (socket: WebSocket, refusals: FrameRefusal[]) => {
    for (const { id, jsonrpc, error } of refusals) {
      const reply = { id, ...(jsonrpc ? { jsonrpc } : {}), error: shapeOf(error) };
      socket.send(JSON.stringify(transformTRPCResponse(config, reply)));
    }
  };

  /**
   * Checks a frame the way the Duplex handler does, so that tRPC only sees frames it can run:
   * its own checks answer `id: null`, and know nothing of request id lengths.
   */
  const refuseMalformed = (socket: WebSocket, text: string | null, parsed: unknown): boolean => {
    if (text === null || parsed === undefined) {
      const cause = text === null ? new Error(binaryFrameMessage) : jsonErrorOf(text);
      sendRefusals(socket, [
        { id: null, jsonrpc: undefined, error: new TRPCError({ code: 'PARSE_ERROR', cause }) },
      ]);
      return true;
    }
    const result = parseCallFrame(Array.isArray(parsed) ? parsed : [parsed], {
      transformer: config.transformer,
      maxRequestIdLength: limits.maxRequestIdLength,
    });
    if (result.ok) return false;
    sendRefusals(socket, result.refusals);
    return true;
  };

  /** Closes a socket whose `connectionParams` frame is malformed, after telling it why. */
  const refuseParams = (socket: WebSocket, text: string | null): boolean => {
    try {
      parseConnectionParamsFrame(text);
      return false;
    } catch (cause) {
      const error =
        cause instanceof TRPCError ? cause : new TRPCError({ code: 'PARSE_ERROR', cause });
      sendRefusals(socket, [{ id: null, jsonrpc: undefined, error }]);
      socket.close(closeCodes.badConnectionParams, 'Malformed connectionParams');
      return true;
    }
  };

  return {
    onConnection(socket: DuplexSocket, req: IncomingMessage) {
      metrics.connectionsOpened++;
      const wantsParams =
        new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
      const budget = new FrameBudget(limits, () => {
        metrics.closedRateLimited++;
        socket.close(closeCodes.rateLimited, 'Rate limit exceeded');
      });
      const state: SocketState = {
        abort: new AbortController(),
        paramsPending: wantsParams,
        sawCalls: false,
        refusal: null,
        budget,
        userBudget: null,
        slots: null,
      };
      sockets.set(socket, state);

      const gate: FrameGate = (data: RawData, isBinary: boolean) => {
        // Frames already in flight when the socket started closing are dropped unread.
        if (socket.readyState !== socket.OPEN) return false;
        opts.keepAlive.touch(socket);
        const bytes = Array.isArray(data)
          ? data.reduce((n, b) => n + b.length, 0)
          : data.byteLength;
        metrics.framesIn++;
        metrics.bytesIn += bytes;
        const text = isBinary ? null : data.toString();
        const one = { calls: 1, bytes };
        if (text === 'PING' || text === 'PONG') return budget.charge(one);
        if (state.paramsPending) {
          state.paramsPending = false;
          // The handshake costs its bytes, not a call: it never crowds out the calls behind it.
          if (!budget.charge({ calls: 0, bytes })) return false;
          if (!refuseParams(socket, text)) return true;
          realTimers.clearTimeout(state.authTimer);
          return false;
        }
        state.sawCalls = true;
        state.refusal?.onCalls();
        // Priced before it is parsed: bytes, and calls by a scan that also bounds the depth.
        const scan =
          text === null
            ? null
            : scanJson(Buffer.isBuffer(data) ? data : Buffer.from(text), limits.maxJsonDepth);
        if (text === null || scan === null || scan.tooDeep) {
          if (text !== null) metrics.refusedDeepFrames++;
          if (!budget.charge(one)) return false;
          const cause = new Error(text === null ? binaryFrameMessage : tooDeepMessage(limits));
          const error = new TRPCError({ code: 'PARSE_ERROR', cause });
          sendRefusals(socket, [{ id: null, jsonrpc: undefined, error }]);
          return false;
        }
        // tRPC before 11.25 does not hold WebSocket batches to `maxBatchSize`; 11.25 answers so.
        // Judged once: refused unrun, the batch costs one call, not one per call it carries.
        if (scan.items > limits.maxBatchSize) {
          if (!budget.charge(one)) return false;
          const parsed = parseFrame(text);
          rejectCalls(socket, Array.isArray(parsed) ? parsed : [], batchTooLarge(), true);
          return false;
        }
        // A frame the budget holds back reaches tRPC later, through `deliver`.
        let now = true;
        let admitted = false;
        budget.offer(
          { calls: Math.max(1, scan.items), bytes },
          () => {
            const parsed = parseFrame(text);
            if (refuseMalformed(socket, text, parsed)) return;
            const deliver = () => {
              if (now) admitted = true;
              else socket.deliver(data, isBinary);
            };
            if (!state.slots) return deliver();
            const messages = Array.isArray(parsed) ? parsed : [parsed];
            state.slots.enter(callIdsOf(messages), deliver, () =>
              rejectCalls(socket, messages, tooManyInFlightError(limits)),
            );
          },
          () => {
            const parsed = parseFrame(text);
            rejectCalls(socket, Array.isArray(parsed) ? parsed : [parsed], rateLimited());
          },
        );
        now = false;
        return admitted;
      };
      socket.afterSend = (bytes, sent) => {
        state.slots?.onSent(sent);
        metrics.framesOut++;
        metrics.bytesOut += bytes;
        if (socket.bufferedAmount <= limits.maxBufferedBytes) return;
        metrics.closedSlowConsumer++;
        socket.afterSend = null;
        socket.close(closeCodes.slowConsumer, 'Slow consumer');
        realTimers.setTimeout(() => socket.terminate(), slowConsumerCloseGraceMs).unref();
      };

      if (wantsParams) {
        state.authTimer = realTimers.setTimeout(
          () => socket.close(closeCodes.authTimeout, 'Authentication timeout'),
          limits.authTimeoutMs,
        );
      }
      socket.once('close', () => {
        realTimers.clearTimeout(state.authTimer);
        budget.dispose();
        state.slots?.close();
        if (state.userBudget) opts.userBudgets.disconnect(state.userBudget);
        state.userBudget = null;
        state.abort.abort();
      });
      opts.keepAlive.watch(socket);
      handleTrpc(socket, req);
      // After tRPC added its listener, so that the frames it reads pass the gate first.
      socket.gateMessages(gate);
    },
  };
}
