import type { IncomingMessage } from 'node:http';
import {
  type AnyRouter,
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  TRPCError,
} from '@trpc/server';
import { parseConnectionParamsFromUnknown } from '@trpc/server/http';
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import {
  parseTRPCMessage,
  type TRPCClientOutgoingMessage,
  type TRPCErrorShape,
  type TRPCResponseMessage,
} from '@trpc/server/rpc';
import type { RawData } from 'ws';
import { createConnection } from './connectionState';
import type { DuplexSocket } from './duplexSocket';
import { createFrameEncoder } from './frameEncoder';
import type { DuplexContext } from './initDuplex';
import { closeCodes, readyNotification } from './protocol';
import { createSocketSender, type SocketSender } from './socketSender';
import { streamSourceOf } from './streamChannel';
import { runStream, runSubscription } from './subscriptionRunner';
import { createTokenBucket } from './tokenBucket';
import { reconnectNotification, scheduleTokenExpiry } from './tokenExpiry';
import type { WsConnectionsOptions } from './wsConnections';

/** The stock handler's words for a binary frame, which its JSON encoder cannot read. */
const binaryFrameMessage =
  'jsonEncoder received binary data. JSON uses text frames. Use a binary encoder for binary data.';

/** A slow consumer gets this long to take its close frame before it is cut off. */
const slowConsumerCloseGraceMs = 1_000;

type Ctx = DuplexContext<unknown>;
type Call = Extract<TRPCClientOutgoingMessage, { params: unknown }>;
type RequestId = number | string;

/**
 * Duplex's own tRPC WebSocket handler. It speaks the wire protocol of the pinned `@trpc/client`
 * `wsLink` frame for frame (the conformance suite compares both handlers byte by byte), with
 * Duplex's auth, limits and token expiry built in rather than wrapped around:
 * - one `JSON.parse` per frame, which also prices it for the token bucket (raw frames, pings and
 *   garbage included); a refused frame's calls get `TOO_MANY_REQUESTS`, its stops still run;
 * - every frame leaves through one bounded FIFO ({@link createSocketSender}): a slow consumer is
 *   closed with 4507 instead of buffering without bound;
 * - subscription events are encoded once per published event ({@link createFrameEncoder}).
 */
export function createDuplexHandler<TRouter extends AnyRouter>(
  opts: WsConnectionsOptions<TRouter>,
) {
  const { limits, metrics, router } = opts;
  const config = router._def._config;
  const encoder = createFrameEncoder(router);

  const shapeOf = (error: TRPCError, call?: Call, ctx?: Ctx): TRPCErrorShape => {
    try {
      return getErrorShape({
        config,
        error,
        type: call?.method ?? 'unknown',
        path: call?.params.path,
        input: call?.params.input,
        ctx,
      });
    } catch (cause) {
      opts.onError(cause);
      return {
        code: -32603,
        message: 'Internal server error',
        data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
      };
    }
  };
  const report = (error: TRPCError) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') opts.onError(error);
  };

  return {
    onConnection(socket: DuplexSocket, req: IncomingMessage) {
      metrics.connectionsOpened++;
      // This handler reads and sends frames itself; the stock path's hooks stay unused.
      socket.gate = null;
      socket.afterSend = null;
      const sender: SocketSender = createSocketSender(socket, {
        maxBufferedBytes: limits.maxBufferedBytes,
        metrics,
        closeGraceMs: slowConsumerCloseGraceMs,
      });
      const respond = (message: TRPCResponseMessage) => {
        if (socket.readyState !== socket.OPEN) return;
        try {
          sender.send(encoder.message(message));
        } catch (cause) {
          opts.onError(cause);
          sender.send(
            encoder.message({
              id: message.id,
              jsonrpc: message.jsonrpc,
              error: shapeOf(new TRPCError({ code: 'INTERNAL_SERVER_ERROR' })),
            }),
          );
        }
      };
      const bucket = createTokenBucket({
        ratePerSecond: limits.callsPerSecond,
        capacity: limits.burstCalls,
      });
      const abort = new AbortController();
      const subscriptions = new Map<RequestId, AbortController>();
      let ctx: Ctx | undefined;
      let ctxPromise: Promise<Ctx | null> | null = null;
      let ctxError: TRPCError | undefined;
      let authTimer: NodeJS.Timeout | undefined;

      const authenticate = async (connectionParams: Record<string, string | undefined> | null) => {
        const result = await Promise.resolve(
          opts.authenticate({ req, connectionParams, transport: 'ws' }),
        ).catch((cause: unknown) => {
          opts.onError(cause);
          return null;
        });
        if (!result || abort.signal.aborted) {
          metrics.refusedUnauthorized++;
          socket.close(closeCodes.unauthorized, 'Unauthorized');
          return null;
        }
        clearTimeout(authTimer);
        sender.send(readyNotification);
        if (result.expiresAt !== undefined) {
          scheduleTokenExpiry(socket, {
            expiresAtMs: +result.expiresAt,
            refreshLeadMs: opts.tokenRefreshLeadMs,
            signal: abort.signal,
            sendReconnect: () => sender.send(reconnectNotification),
          });
        }
        const connection = createConnection('ws', {
          maxSubscriptions: limits.maxSubscriptionsPerConnection,
          onSubscriptionsChange: (delta) => {
            metrics.subscriptions += delta;
          },
        });
        ctx = { user: result.user, connection, broker: opts.broker, signal: abort.signal };
        return ctx;
      };

      /** The first frame of a `?connectionParams=1` socket; a malformed one closes it. */
      const onConnectionParams = (text: string | null) => {
        let connectionParams: Record<string, string | undefined> | null;
        try {
          let msg: unknown;
          try {
            if (text === null) throw new Error(binaryFrameMessage);
            msg = JSON.parse(text);
            if (typeof msg !== 'object' || msg === null)
              throw new Error('Message was not an object');
          } catch (cause) {
            throw new TRPCError({
              code: 'PARSE_ERROR',
              message: 'Malformed TRPCConnectionParamsMessage',
              cause,
            });
          }
          connectionParams = parseConnectionParamsFromUnknown((msg as { data?: unknown }).data);
        } catch (cause) {
          ctxError = getTRPCErrorFromUnknown(cause);
          respond({ id: null, error: shapeOf(ctxError) });
          setImmediate(() => socket.close());
          return Promise.resolve(null);
        }
        return authenticate(connectionParams);
      };

      const rejectCalls = (messages: unknown[]) => {
        const error = new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `Rate limit: at most ${limits.callsPerSecond} calls per second`,
        });
        for (const msg of messages) {
          const { id, method } = (msg ?? {}) as { id?: unknown; method?: unknown };
          if (typeof id !== 'number' && typeof id !== 'string') continue;
          // A stop frees server resources; refusing it would only keep the subscription running.
          if (method === 'subscription.stop') {
            subscriptions.get(id)?.abort();
            continue;
          }
          metrics.rateLimitedCalls++;
          respond({ id, error: shapeOf(error) });
        }
      };

      const onFrame = (data: RawData, isBinary: boolean) => {
        // Frames already in flight when the socket started closing are dropped unread.
        if (socket.readyState !== socket.OPEN) return;
        opts.keepAlive.touch(socket);
        const buffer = Buffer.isBuffer(data)
          ? data
          : Array.isArray(data)
            ? Buffer.concat(data)
            : Buffer.from(data);
        metrics.framesIn++;
        metrics.bytesIn += buffer.byteLength;
        const text = isBinary ? null : buffer.toString('utf8');
        if (text === 'PING' || text === 'PONG') {
          charge(1, []);
          // Answered even past the rate limit: a flood of pings ends in 4429 all the same.
          if (text === 'PING') sender.send('PONG');
          return;
        }
        if (!ctxPromise) {
          if (!charge(1, [])) return;
          ctxPromise = onConnectionParams(text);
          return;
        }
        let parsed: unknown;
        try {
          if (text === null) throw new Error(binaryFrameMessage);
          parsed = JSON.parse(text);
        } catch (cause) {
          if (!charge(1, [])) return;
          respond({ id: null, error: shapeOf(new TRPCError({ code: 'PARSE_ERROR', cause })) });
          return;
        }
        const raw = Array.isArray(parsed) ? parsed : [parsed];
        if (!charge(Math.max(1, raw.length), raw)) return;
        if (Array.isArray(parsed) && raw.length > limits.maxBatchSize) {
          refuseBatch(raw);
          return;
        }
        let calls: TRPCClientOutgoingMessage[];
        try {
          calls = raw.map((msg) => parseTRPCMessage(msg, config.transformer));
        } catch (cause) {
          respond({ id: null, error: shapeOf(new TRPCError({ code: 'PARSE_ERROR', cause })) });
          return;
        }
        const ready = ctxPromise;
        for (let index = 0; index < calls.length; index++) {
          handleCall(calls[index] as TRPCClientOutgoingMessage, index, ready).catch(opts.onError);
        }
      };

      /** Takes `cost` tokens; on refusal answers the frame's calls or closes a flooder. */
      const charge = (cost: number, messages: unknown[]) => {
        if (bucket.take(cost)) return true;
        if (bucket.debt > limits.burstCalls) {
          metrics.closedRateLimited++;
          socket.close(closeCodes.rateLimited, 'Rate limit exceeded');
        } else {
          rejectCalls(messages);
        }
        return false;
      };

      const refuseBatch = (raw: unknown[]) => {
        const shape = shapeOf(
          new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' }),
        );
        let responded = false;
        for (const msg of raw) {
          const { id, method, jsonrpc } = (msg ?? {}) as Record<string, unknown>;
          if (typeof msg !== 'object' || msg === null || method === 'subscription.stop') continue;
          if (typeof id !== 'number' && typeof id !== 'string') continue;
          respond({ id, jsonrpc: jsonrpc === '2.0' ? '2.0' : undefined, error: shape });
          responded = true;
        }
        if (!responded) respond({ id: null, error: shape });
      };

      const handleCall = async (
        msg: TRPCClientOutgoingMessage,
        batchIndex: number,
        ready: Promise<Ctx | null>,
      ) => {
        const { id, jsonrpc } = msg;
        if (id === null) {
          const error = new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' });
          respond({ id, jsonrpc, error: shapeOf(error, undefined, ctx) });
          return;
        }
        if (msg.method === 'subscription.stop') {
          subscriptions.get(id)?.abort();
          return;
        }
        const call = withLastEventId(msg);
        const type = call.method;
        const fail = (cause: unknown) => {
          const error = getTRPCErrorFromUnknown(cause);
          report(error);
          respond({ id, jsonrpc, error: shapeOf(error, call, ctx) });
        };
        if (type === 'subscription' && subscriptions.has(id)) {
          fail(new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }));
          return;
        }
        const callAbort = new AbortController();
        // Registered before any await, so a stop or a disconnect during setup cancels it.
        if (type === 'subscription') subscriptions.set(id, callAbort);
        const release = () => {
          if (subscriptions.get(id) === callAbort) subscriptions.delete(id);
        };
        let result: unknown;
        try {
          const context = ctx ?? (await ready);
          if (!context) {
            throw (
              ctxError ?? new TRPCError({ code: 'UNAUTHORIZED', message: 'Authentication refused' })
            );
          }
          if (
            callAbort.signal.aborted ||
            (type === 'subscription' && socket.readyState !== socket.OPEN)
          ) {
            release();
            respond({ id, jsonrpc, result: { type: 'stopped' } });
            return;
          }
          result = await callTRPCProcedure({
            router,
            path: call.params.path,
            getRawInput: async () => call.params.input,
            ctx: context,
            type,
            signal: callAbort.signal,
            batchIndex,
          });
        } catch (cause) {
          release();
          const error = getTRPCErrorFromUnknown(cause);
          // A procedure that gave up because its subscription was cancelled ends quietly.
          if (
            callAbort.signal.aborted &&
            error.code === 'INTERNAL_SERVER_ERROR' &&
            (error.cause as { name?: unknown } | undefined)?.name === 'AbortError'
          ) {
            if (type === 'subscription') respond({ id, jsonrpc, result: { type: 'stopped' } });
            return;
          }
          fail(error);
          return;
        }
        const iterable = isObservable(result) || isAsyncIterable(result);
        if (type !== 'subscription') {
          if (iterable) {
            fail(
              new TRPCError({
                code: 'UNSUPPORTED_MEDIA_TYPE',
                message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets`,
              }),
            );
            return;
          }
          respond({ id, jsonrpc, result: { type: 'data', data: result } });
          return;
        }
        if (!iterable) {
          release();
          fail(
            new TRPCError({
              code: 'INTERNAL_SERVER_ERROR',
              message: `Subscription ${call.params.path} did not return an observable or a AsyncGenerator`,
            }),
          );
          return;
        }
        if (socket.readyState !== socket.OPEN) {
          callAbort.abort();
          if (isObservable(result)) {
            release();
            respond({ id, jsonrpc, result: { type: 'stopped' } });
            return;
          }
        }
        const source = isObservable(result)
          ? observableToAsyncIterable(result, callAbort.signal)
          : (result as AsyncIterable<unknown>);
        const toFrame = encoder.dataFrames(id, jsonrpc);
        const stream = streamSourceOf(result);
        await (stream ? runStream.bind(null, stream) : runSubscription)(source, {
          signal: callAbort.signal,
          abort: () => callAbort.abort(),
          onStarted: () => respond({ id, jsonrpc, result: { type: 'started' } }),
          onData: (value) => {
            if (socket.readyState === socket.OPEN) sender.send(toFrame(value));
          },
          onError: (cause) => fail(cause),
          onLateError: (cause) => report(getTRPCErrorFromUnknown(cause)),
        });
        release();
        respond({ id, jsonrpc, result: { type: 'stopped' } });
      };

      const wantsParams =
        new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
      if (wantsParams) {
        authTimer = setTimeout(
          () => socket.close(closeCodes.authTimeout, 'Authentication timeout'),
          limits.authTimeoutMs,
        );
      } else {
        ctxPromise = authenticate(null);
      }
      socket.on('message', onFrame);
      socket.once('close', () => {
        clearTimeout(authTimer);
        for (const subscription of subscriptions.values()) subscription.abort();
        subscriptions.clear();
        abort.abort();
      });
      opts.keepAlive.watch(socket);
    },
  };
}

/** tRPC merges a resumed subscription's `lastEventId` into object inputs (or a missing one). */
function withLastEventId(msg: Call): Call {
  const { lastEventId } = msg.params;
  if (lastEventId === undefined) return msg;
  const { input } = msg.params;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    return { ...msg, params: { ...msg.params, input: { ...input, lastEventId } } };
  }
  if (input === null || input === undefined) {
    return { ...msg, params: { ...msg.params, input: { lastEventId } } };
  }
  return msg;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
