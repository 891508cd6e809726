import { getTRPCErrorFromUnknown } from '@trpc/server';
import type { Call, DuplexWsConnection, RequestId } from './duplexConnection';
import type { FrameEnvelope } from './frameEncoder';
import type { RunSubscriptionOptions } from './subscriptionRunner';

/** One call in progress; for a subscription, the callbacks its runner drives. */
export class CallRun implements RunSubscriptionOptions {
  readonly controller = new AbortController();
  envelope: FrameEnvelope | null = null;

  constructor(
    private readonly connection: DuplexWsConnection,
    readonly call: Call,
    readonly id: RequestId,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
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
    this.connection.release(this.id, this.controller);
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
