import { TRPCError } from '@trpc/server';

/**
 * Thrown by the Redis broker and presence when Redis can't be reached (or doesn't answer in
 * time): a publish was not published (never silently dropped), a presence read could not be
 * made. In a procedure it reaches the client as `SERVICE_UNAVAILABLE`, so a retry later can
 * succeed.
 */
export class BrokerUnavailableError extends TRPCError {
  /** `what` completes "The message broker is unavailable: …". */
  constructor(what: string, cause: unknown) {
    super({
      code: 'SERVICE_UNAVAILABLE',
      message: `The message broker is unavailable: ${what}. Try again.`,
      cause,
    });
    this.name = 'BrokerUnavailableError';
  }
}
