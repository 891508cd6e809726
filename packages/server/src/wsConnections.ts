import type { IncomingMessage } from 'node:http';
import { type AnyRouter, getErrorShape, TRPCError, transformTRPCResponse } from '@trpc/server';
import { type CreateWSSContextFnOptions, getWSConnectionHandler } from '@trpc/server/adapters/ws';
import type { RawData, WebSocket } from 'ws';
import { ConnectionLifecycle, rateLimitError } from './connectionLifecycle';
import { observeCalls } from './connectionState';
import type { DuplexSocket, FrameGate } from './duplexSocket';
import { callError } from './errorReport';
import { InFlightSlots } from './inFlightSlots';
import type { DuplexContext } from './initDuplex';
import {
  binaryFrameMessage,
  type FrameRefusal,
  isUsableId,
  parseCallFrame,
  parseFrame,
  tooDeepMessage,
} from './parseCallFrame';
import { scanJson } from './scanJson';
import { tooManyInFlightError } from './userBudgets';
import type { WsHandlerOptions } from './wsHandlerOptions';

/** What the stock path keeps per socket. */
interface SocketState {
  lifecycle: ConnectionLifecycle;
  /** The socket's first frame will be its `connectionParams`, and it has not come yet. */
  paramsPending: boolean;
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

/**
 * Serves tRPC on accepted sockets through the stock `@trpc/server` handler, with Duplex's
 * authentication, limits and token expiry around it. The handler stays behind this one file so
 * that a Duplex handler speaking the same wire protocol can replace it.
 */
export function createWsConnections<TRouter extends AnyRouter>(opts: WsHandlerOptions<TRouter>) {
  const { limits, metrics, router } = opts;
  const config = router._def._config;
  const sockets = new WeakMap<WebSocket, SocketState>();

  // The upgrade request `authenticate` sees is the one the lifecycle was made with.
  const createContext = async ({
    res: socket,
    info,
  }: CreateWSSContextFnOptions): Promise<DuplexContext<unknown>> => {
    const state = sockets.get(socket) as SocketState;
    const { lifecycle } = state;
    const outcome = await lifecycle.authenticate(info.connectionParams, socket);
    if ('refused' in outcome) {
      // tRPC sends the `id: null` error for this throw and answers the calls waiting on it; its
      // own plain `close()` after that is held back, so that the socket closes with the
      // refusal's code.
      (socket as DuplexSocket).holdPlainClose = true;
      throw outcome.refused;
    }
    if (lifecycle.userBudget)
      state.slots = new InFlightSlots(opts.userBudgets, lifecycle.userBudget);
    observeCalls(outcome.ctx.connection, { figures: opts.figures, tracer: opts.tracer });
    return outcome.ctx;
  };

  const handleTrpc = getWSConnectionHandler<TRouter>({
    router,
    wss: opts.wss,
    createContext: createContext as never,
    maxBatchSize: limits.maxBatchSize,
    onError: ({ error, path, type, ctx, input }) => {
      opts.figures.countError(error.code);
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
      opts.figures.countError(error.code);
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
      opts.figures.countError(error.code);
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

  return {
    onConnection(socket: DuplexSocket, req: IncomingMessage) {
      metrics.connectionsOpened++;
      const lifecycle = new ConnectionLifecycle(opts, socket, req);
      const { budget } = lifecycle;
      const state: SocketState = { lifecycle, paramsPending: lifecycle.paramsFirst, slots: null };
      sockets.set(socket, state);
      const refuseParams = (error: TRPCError) =>
        sendRefusals(socket, [{ id: null, jsonrpc: undefined, error }]);

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
          return lifecycle.readParams(text, refuseParams) !== undefined;
        }
        lifecycle.onCalls();
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
            lifecycle.live.calls += Math.max(1, scan.items);
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
            rejectCalls(socket, Array.isArray(parsed) ? parsed : [parsed], rateLimitError(limits));
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
        socket.afterSend = null;
        lifecycle.closeSlowConsumer();
      };
      socket.once('close', () => {
        state.slots?.close();
        lifecycle.onClose();
      });
      opts.keepAlive.watch(socket);
      handleTrpc(socket, req);
      // After tRPC added its listener, so that the frames it reads pass the gate first.
      socket.gateMessages(gate);
    },
  };
}
