import type { Span, SpanKind, SpanStatusCode, Tracer } from '@opentelemetry/api';
import { getTRPCErrorFromUnknown } from '@trpc/server';
import { userIdOf } from './userBudgets';

/**
 * Options of the server's `tracing`. The types come from `@opentelemetry/api` (an optional peer
 * dependency); Duplex imports nothing of it at run time, so a server without the option runs
 * without the package installed.
 */
export interface DuplexTracingOptions {
  /** Where spans go, e.g. `trace.getTracer('chat-server')` once an SDK is registered. */
  tracer: Tracer;
  /**
   * Puts the caller's user id on each span as `enduser.id`. Off by default: a user id is
   * personal data, and traces often leave the app's own systems.
   * @default false
   */
  recordUserId?: boolean;
}

/** `SpanKind.SERVER` and `SpanStatusCode.ERROR`, spelled out: the enums are run-time values. */
const serverKind = 1 as SpanKind.SERVER;
const errorStatus = 2 as SpanStatusCode.ERROR;

type ProcedureType = 'query' | 'mutation' | 'subscription';
type Transport = 'websocket' | 'http';

/**
 * Makes the spans of one server: one per query or mutation and one per subscription start,
 * named by the procedure path, with `rpc.system: 'trpc'`, `rpc.method`, `duplex.type`,
 * `duplex.transport`, `enduser.id` when allowed, and on failure an error status whose message
 * is the tRPC code (also in `error.type`). Made only when the option is set: without it the
 * handlers hold `null` and pay one check per call.
 */
export class CallTracer {
  private readonly tracer: Tracer;
  private readonly recordUserId: boolean;

  constructor(opts: DuplexTracingOptions) {
    this.tracer = opts.tracer;
    this.recordUserId = opts.recordUserId ?? false;
  }

  /**
   * Runs `call` (the procedure) inside an active span, so the procedure's own spans (database,
   * HTTP) are its children when the app's SDK propagates context.
   */
  trace<T>(
    path: string,
    type: ProcedureType,
    transport: Transport,
    user: unknown,
    call: () => Promise<T>,
  ): Promise<T> {
    const options = {
      kind: serverKind,
      attributes: this.attributesOf(path, type, transport, user),
    };
    return this.tracer.startActiveSpan(path, options, (span) =>
      call().then(
        (result) => {
          span.end();
          return result;
        },
        (cause: unknown) => {
          failed(span, cause);
          span.end();
          throw cause;
        },
      ),
    );
  }

  /**
   * As {@link trace}, for a tRPC middleware's `next()`: its result says how the call ended
   * (a failed step resolves with `{ ok: false, error }` rather than rejecting).
   */
  traceStep<T extends { ok: boolean; error?: unknown }>(
    path: string,
    type: ProcedureType,
    user: unknown,
    step: () => Promise<T>,
  ): Promise<T> {
    return this.trace(path, type, 'websocket', user, () =>
      step().then((result) => {
        if (result.ok) return result;
        throw new StepFailure(result);
      }),
    ).catch((cause: unknown) => {
      if (cause instanceof StepFailure) return cause.result as T;
      throw cause;
    });
  }

  /**
   * A span for a call that already ran (plain HTTP, where tRPC runs it): from `startTime` to
   * now, not active while it ran.
   */
  record(
    path: string,
    type: ProcedureType,
    user: unknown,
    opts: { startTime: number; errorCode: string | null },
  ): void {
    const span = this.tracer.startSpan(path, {
      kind: serverKind,
      startTime: opts.startTime,
      attributes: this.attributesOf(path, type, 'http', user),
    });
    if (opts.errorCode !== null) {
      span.setAttribute('error.type', opts.errorCode);
      span.setStatus({ code: errorStatus, message: opts.errorCode });
    }
    span.end();
  }

  private attributesOf(path: string, type: ProcedureType, transport: Transport, user: unknown) {
    const attributes: Record<string, string> = {
      'rpc.system': 'trpc',
      'rpc.method': path,
      'duplex.type': type,
      'duplex.transport': transport,
    };
    if (this.recordUserId) {
      const id = userIdOf(user);
      if (id !== null) attributes['enduser.id'] = id;
    }
    return attributes;
  }
}

/** A failed middleware result, carried through {@link CallTracer.trace} as a rejection. */
class StepFailure {
  constructor(readonly result: { error?: unknown }) {}
}

/** Marks the span failed with the call's tRPC code; an unexpected error's exception is kept. */
function failed(span: Span, cause: unknown): void {
  const error = getTRPCErrorFromUnknown(cause instanceof StepFailure ? cause.result.error : cause);
  span.setAttribute('error.type', error.code);
  span.setStatus({ code: errorStatus, message: error.code });
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    span.recordException(error.cause instanceof Error ? error.cause : error);
  }
}
