import { getTRPCErrorFromUnknown } from '@trpc/server';
import type { Call, DuplexWsConnection, RequestId } from './duplexConnection';
import type { FrameEnvelope } from './frameEncoder';
import type { ProcedureCall } from './procedureRunner';
import type { RunSubscriptionOptions } from './subscriptionRunner';

/**
 * One call in progress; for a subscription, the callbacks its runner drives. Its
 * `AbortController` is made on first use: a query or mutation whose procedure never reads
 * `signal` never makes one (3–5% of the server's CPU at 64 calls in flight when it did).
 */
export class CallRun implements RunSubscriptionOptions, ProcedureCall {
  private ownController: AbortController | null = null;
  envelope: FrameEnvelope | null = null;
  /** The procedure context, once the connection has one (set before the procedure runs). */
  ctx: unknown = undefined;
  /** The call's index in its frame. */
  batchIndex = 0;
  /** The input as the client sent it (a function of its own: middlewares call it unbound). */
  declare readonly getRawInput: () => Promise<unknown>;

  constructor(
    private readonly connection: DuplexWsConnection,
    readonly call: Call,
    readonly id: RequestId,
  ) {
    // Assigned here rather than as a field: tsx (the bench, the tests) names a field's arrow
    // function with a helper call per call.
    this.getRawInput = () => Promise.resolve(call.params.input);
  }

  get path(): string {
    return this.call.params.path;
  }

  get type(): Call['method'] {
    return this.call.method;
  }

  /** The call's controller, made on first use. */
  get controller(): AbortController {
    this.ownController ??= new AbortController();
    return this.ownController;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the call was aborted (never, while nothing asked for its controller). */
  get aborted(): boolean {
    return this.ownController?.signal.aborted ?? false;
  }

  abort(): void {
    this.controller.abort();
  }

  onStarted(): void {
    this.connection.respond({
      id: this.id,
      jsonrpc: this.call.jsonrpc,
      result: { type: 'started' },
    });
  }

  onData(value: unknown): void {
    if (this.envelope) this.connection.sendData(this.envelope, value);
  }

  onEvent(eventId: string, data: unknown): void {
    if (this.envelope) this.connection.sendEvent(this.envelope, eventId, data);
  }

  onError(cause: unknown): void {
    this.connection.fail(this.id, this.call, getTRPCErrorFromUnknown(cause));
  }

  onLateError(cause: unknown): void {
    this.connection.reportLate(this.call, getTRPCErrorFromUnknown(cause));
  }

  release(): void {
    // Only a subscription registers its controller; a call that made none holds no id.
    if (this.ownController) this.connection.release(this.id, this.ownController);
  }

  /** Frees the id, then tells the client it may reuse it. */
  stopped(): void {
    this.release();
    this.connection.respond({
      id: this.id,
      jsonrpc: this.call.jsonrpc,
      result: { type: 'stopped' },
    });
  }
}
