import type { IncomingMessage } from 'node:http';
import { type AnyRouter, getTRPCErrorFromUnknown, TRPCError } from '@trpc/server';
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import type {
  TRPCClientOutgoingMessage,
  TRPCErrorShape,
  TRPCResponseMessage,
} from '@trpc/server/rpc';
import type { RawData } from 'ws';
import { CallRun } from './callRun';
import {
  ConnectionLifecycle,
  type ConnectionParams,
  rateLimitError,
  slowConsumerCloseGraceMs,
} from './connectionLifecycle';
import type { LiveSocket } from './connectionRegistry';
import type { DuplexSocket } from './duplexSocket';
import type { FrameEncoder, FrameEnvelope } from './frameEncoder';
import type { DuplexContext } from './initDuplex';
import {
  binaryFrameMessage,
  isUsableId,
  parseCallFrame,
  parseFrame,
  tooDeepMessage,
} from './parseCallFrame';
import { callProcedure } from './procedureRunner';
import { scanJson } from './scanJson';
import type { ProcedureFigures } from './serverFigures';
import { SocketSender } from './socketSender';
import { streamSourceOf } from './streamChannel';
import { runStream, runSubscription } from './subscriptionRunner';
import { tooManyInFlightError, type UserBudget } from './userBudgets';
import type { WsHandlerOptions } from './wsHandlerOptions';

export type Ctx = DuplexContext<unknown>;
export type Call = Extract<TRPCClientOutgoingMessage, { params: unknown }>;
export type RequestId = number | string;

/** What every connection of one handler shares. */
export interface HandlerShared {
  opts: WsHandlerOptions<AnyRouter>;
  encoder: FrameEncoder;
  shapeOf(error: TRPCError, call?: Call, ctx?: Ctx): TRPCErrorShape;
  /** Reports a call's unexpected (internal) error to `onError`, with the call and its context. */
  report(error: TRPCError, call?: Call, ctx?: Ctx): void;
  /** Reports a failure of the connection itself (outside any procedure) to `onError`. */
  reportConnection(cause: unknown, ctx?: Ctx): void;
}

/**
 * One socket served by the Duplex handler. A class rather than closures: its methods live once
 * on the prototype, so an idle connection costs its fields and nothing per method.
 */
export class DuplexWsConnection {
  readonly sender: SocketSender;
  /** Authentication, refusals, token expiry, budgets and what the close frees. */
  private readonly lifecycle: ConnectionLifecycle;
  /** The connection as the inspector lists it (its call and event counts). */
  private readonly live: LiveSocket;
  private readonly subscriptions = new Map<RequestId, AbortController>();
  private ctx: Ctx | undefined;
  private ctxPromise: Promise<Ctx | null> | null = null;
  private ctxError: TRPCError | undefined;

  constructor(
    private readonly shared: HandlerShared,
    readonly socket: DuplexSocket,
    req: IncomingMessage,
  ) {
    const { limits, metrics } = shared.opts;
    this.sender = new SocketSender(socket, {
      maxBufferedBytes: limits.maxBufferedBytes,
      metrics,
      closeGraceMs: slowConsumerCloseGraceMs,
    });
    this.lifecycle = new ConnectionLifecycle(shared.opts, socket, req);
    this.live = this.lifecycle.live;
    if (!this.lifecycle.paramsFirst) this.ctxPromise = this.authenticate(null);
  }

  /** Sends a subscription's data; a no-op once the socket is closing. */
  sendData(envelope: FrameEnvelope, value: unknown): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.live.events++;
    this.sender.send(this.shared.encoder.data(envelope, value));
  }

  /** Sends a tracked event; a no-op once the socket is closing. */
  sendEvent(envelope: FrameEnvelope, eventId: string, data: unknown): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.live.events++;
    this.sender.send(this.shared.encoder.event(envelope, eventId, data));
  }

  /** Answers a call with `error`, reported to `onError` first when it is internal. */
  fail(id: RequestId, call: Call, error: TRPCError): void {
    const { report, shapeOf } = this.shared;
    this.shared.opts.figures.countError(error.code);
    report(error, call, this.ctx);
    this.respond({ id, jsonrpc: call.jsonrpc, error: shapeOf(error, call, this.ctx) });
  }

  /** Reports an internal error of a call already answered (a subscription that ended). */
  reportLate(call: Call, error: TRPCError): void {
    this.shared.report(error, call, this.ctx);
  }

  /** The socket closed: everything it started stops. */
  onClose(): void {
    for (const subscription of this.subscriptions.values()) subscription.abort();
    this.subscriptions.clear();
    this.lifecycle.onClose();
  }

  /** A query's or mutation's result: `respond` with `{ type: 'data', data }`, encoded once. */
  respondData(id: RequestId, jsonrpc: '2.0' | undefined, data: unknown): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    let frame: string;
    try {
      frame = this.shared.encoder.result(id, jsonrpc, data);
    } catch {
      // respond() encodes it again, and reports and answers the failure there.
      this.respond({ id, jsonrpc, result: { type: 'data', data } });
      return;
    }
    this.sender.send(frame);
  }

  respond(message: TRPCResponseMessage): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const { encoder, shapeOf } = this.shared;
    try {
      this.sender.send(encoder.message(message));
    } catch (cause) {
      this.shared.reportConnection(cause, this.ctx);
      const error = shapeOf(new TRPCError({ code: 'INTERNAL_SERVER_ERROR' }));
      this.sender.send(encoder.message({ id: message.id, jsonrpc: message.jsonrpc, error }));
    }
  }

  private async authenticate(params: ConnectionParams): Promise<Ctx | null> {
    const outcome = await this.lifecycle.authenticate(params, this.sender);
    if ('ctx' in outcome) {
      this.ctx = outcome.ctx;
      return this.ctx;
    }
    this.refuse(outcome.refused);
    return null;
  }

  /**
   * Tells the client its connection is refused, as the stock handler does when `createContext`
   * throws (an `id: null` error), and answers its calls with the same error; the lifecycle
   * closes the socket.
   */
  private refuse(error: TRPCError): void {
    this.ctxError = error;
    this.respond({ id: null, error: this.shared.shapeOf(error) });
  }

  /** The first frame of a `?connectionParams=1` socket; a malformed one closes it with 4400. */
  private onConnectionParams(text: string | null): Promise<Ctx | null> {
    const params = this.lifecycle.readParams(text, (error) => this.refuse(error));
    return params === undefined ? Promise.resolve(null) : this.authenticate(params);
  }

  /**
   * Every incoming frame: priced before it is parsed (bytes, and calls by a linear scan that
   * also bounds its depth), run now or once its budgets allow, parsed once, then dispatched.
   */
  onFrame(data: RawData, isBinary: boolean): void {
    const { socket } = this;
    // Frames already in flight when the socket started closing are dropped unread.
    if (socket.readyState !== socket.OPEN) return;
    const { opts, shapeOf } = this.shared;
    const { limits } = opts;
    opts.keepAlive.touch(socket);
    const buffer = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data);
    const bytes = buffer.byteLength;
    opts.metrics.framesIn++;
    opts.metrics.bytesIn += bytes;
    const text = isBinary ? null : buffer.toString('utf8');
    if (text === 'PING' || text === 'PONG') {
      this.lifecycle.budget.charge({ calls: 1, bytes });
      // Answered even past the rate limit: a flood of pings ends in 4429 all the same.
      if (text === 'PING' && socket.readyState === socket.OPEN) this.sender.send('PONG');
      return;
    }
    if (!this.ctxPromise) {
      // The handshake costs its bytes, not a call: it never crowds out the calls queued behind it.
      if (this.lifecycle.budget.charge({ calls: 0, bytes })) {
        this.ctxPromise = this.onConnectionParams(text);
      }
      return;
    }
    const scan = text === null ? null : scanJson(buffer, limits.maxJsonDepth);
    if (text === null || scan === null || scan.tooDeep) {
      if (text !== null) opts.metrics.refusedDeepFrames++;
      if (!this.lifecycle.budget.charge({ calls: 1, bytes })) return;
      const cause = new Error(text === null ? binaryFrameMessage : tooDeepMessage(limits));
      this.respond({ id: null, error: shapeOf(new TRPCError({ code: 'PARSE_ERROR', cause })) });
      return;
    }
    if (scan.items > limits.maxBatchSize) {
      // Judged once: refused unrun, it costs one call, not one per call it carries.
      if (!this.lifecycle.budget.charge({ calls: 1, bytes })) return;
      const parsed = parseFrame(text);
      this.refuseBatch(Array.isArray(parsed) ? parsed : []);
      return;
    }
    this.lifecycle.budget.offer(
      { calls: Math.max(1, scan.items), bytes },
      () => this.runFrame(text),
      () => this.rateLimit(text),
    );
  }

  /** Parses an admitted frame and dispatches its calls. */
  private runFrame(text: string): void {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return;
    const { opts, shapeOf } = this.shared;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      this.respond({ id: null, error: shapeOf(new TRPCError({ code: 'PARSE_ERROR', cause })) });
      return;
    }
    const raw = Array.isArray(parsed) ? parsed : [parsed];
    const parsedFrame = parseCallFrame(raw, {
      transformer: opts.router._def._config.transformer,
      maxRequestIdLength: opts.limits.maxRequestIdLength,
    });
    if (!parsedFrame.ok) {
      for (const { id, jsonrpc, error } of parsedFrame.refusals) {
        opts.figures.countError(error.code);
        this.respond({ id, jsonrpc, error: shapeOf(error) });
      }
      return;
    }
    const { calls } = parsedFrame;
    const ready = this.ctxPromise as Promise<Ctx | null>;
    this.lifecycle.onCalls();
    for (let index = 0; index < calls.length; index++) {
      this.handleCall(calls[index] as TRPCClientOutgoingMessage, index, ready).catch(
        (cause: unknown) => this.shared.reportConnection(cause, this.ctx),
      );
    }
  }

  /** Answers the calls of a frame refused by the rate limit; its stops still run. */
  private rateLimit(text: string): void {
    const { limits, metrics } = this.shared.opts;
    const parsed = parseFrame(text);
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    const error = rateLimitError(limits);
    for (const msg of messages) {
      const { id, method } = (msg ?? {}) as { id?: unknown; method?: unknown };
      if (!isUsableId(id, limits.maxRequestIdLength)) continue;
      // A stop frees server resources; refusing it would only keep the subscription running.
      if (method === 'subscription.stop') {
        this.subscriptions.get(id)?.abort();
        continue;
      }
      metrics.rateLimitedCalls++;
      this.shared.opts.figures.countError(error.code);
      this.respond({ id, error: this.shared.shapeOf(error) });
    }
  }

  private refuseBatch(raw: unknown[]): void {
    const shape = this.shared.shapeOf(
      new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' }),
    );
    let responded = false;
    for (const msg of raw) {
      const { id, method, jsonrpc } = (msg ?? {}) as Record<string, unknown>;
      if (typeof msg !== 'object' || msg === null || method === 'subscription.stop') continue;
      if (!isUsableId(id, this.shared.opts.limits.maxRequestIdLength)) continue;
      this.respond({ id, jsonrpc: jsonrpc === '2.0' ? '2.0' : undefined, error: shape });
      responded = true;
    }
    if (!responded) this.respond({ id: null, error: shape });
  }

  private async handleCall(
    msg: TRPCClientOutgoingMessage,
    batchIndex: number,
    ready: Promise<Ctx | null>,
  ): Promise<void> {
    const { id, jsonrpc } = msg;
    if (id === null) {
      const error = new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' });
      this.respond({ id, jsonrpc, error: this.shared.shapeOf(error, undefined, this.ctx) });
      return;
    }
    if (msg.method === 'subscription.stop') {
      this.subscriptions.get(id)?.abort();
      return;
    }
    this.live.calls++;
    const run = new CallRun(this, withLastEventId(msg), id);
    const { call } = run;
    const type = call.method;
    if (type === 'subscription' && this.subscriptions.has(id)) {
      run.onError(new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }));
      return;
    }
    // Registered before any await, so a stop or a disconnect during setup cancels it.
    if (type === 'subscription') this.subscriptions.set(id, run.controller);
    let result: unknown;
    /** The user whose in-flight slot this call holds (kept: the socket may close meanwhile). */
    let slotOf: UserBudget | null = null;
    /** The procedure's figures, and when it was called (0: not yet). */
    let procedure: ProcedureFigures | undefined;
    let startedAt = 0;
    try {
      const context = this.ctx ?? (await ready);
      if (!context) {
        throw (
          this.ctxError ??
          new TRPCError({ code: 'UNAUTHORIZED', message: 'Authentication refused' })
        );
      }
      if (run.aborted || (type === 'subscription' && this.socket.readyState !== this.socket.OPEN)) {
        run.stopped();
        return;
      }
      const { userBudget } = this.lifecycle;
      if (type !== 'subscription' && userBudget) {
        const { userBudgets } = this.shared.opts;
        // A free slot is taken without the promise (and the turn) acquire() costs.
        if (!userBudgets.tryAcquire(userBudget, 1) && !(await userBudgets.acquire(userBudget))) {
          throw tooManyInFlightError(this.shared.opts.limits);
        }
        slotOf = userBudget;
        if (this.lifecycle.abort.signal.aborted) return;
      }
      run.ctx = context;
      run.batchIndex = batchIndex;
      procedure = this.shared.opts.figures.procedures.get(call.params.path);
      if (procedure?.type !== type) procedure = undefined;
      startedAt = performance.now();
      const { router, tracer } = this.shared.opts;
      result = await (tracer
        ? tracer.trace(call.params.path, type, 'websocket', context.user, () =>
            callProcedure(router, run),
          )
        : callProcedure(router, run));
      procedure?.record((performance.now() - startedAt) / 1000, null);
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      // A procedure that gave up because its subscription was cancelled ends quietly.
      if (
        run.aborted &&
        error.code === 'INTERNAL_SERVER_ERROR' &&
        (error.cause as { name?: unknown } | undefined)?.name === 'AbortError'
      ) {
        if (type === 'subscription') run.stopped();
        return;
      }
      if (startedAt !== 0) procedure?.record((performance.now() - startedAt) / 1000, error.code);
      run.release();
      run.onError(error);
      return;
    } finally {
      if (slotOf) this.shared.opts.userBudgets.release(slotOf);
    }
    const iterable = isObservable(result) || isAsyncIterable(result);
    if (type !== 'subscription') {
      if (iterable) {
        run.onError(
          new TRPCError({
            code: 'UNSUPPORTED_MEDIA_TYPE',
            message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets`,
          }),
        );
        return;
      }
      this.respondData(id, jsonrpc, result);
      return;
    }
    if (!iterable) {
      run.release();
      run.onError(
        new TRPCError({
          code: 'INTERNAL_SERVER_ERROR',
          message: `Subscription ${call.params.path} did not return an observable or a AsyncGenerator`,
        }),
      );
      return;
    }
    if (this.socket.readyState !== this.socket.OPEN) {
      run.abort();
      if (isObservable(result)) {
        run.stopped();
        return;
      }
    }
    const source = isObservable(result)
      ? observableToAsyncIterable(result, run.signal)
      : (result as AsyncIterable<unknown>);
    run.envelope = this.shared.encoder.envelope(id, jsonrpc);
    const stream = streamSourceOf(result);
    if (stream) await runStream(stream, source, run);
    else await runSubscription(source, run);
    run.stopped();
  }

  /** Frees a subscription id, unless a newer call took it over. */
  release(id: RequestId, controller: AbortController): void {
    if (this.subscriptions.get(id) === controller) this.subscriptions.delete(id);
  }
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
