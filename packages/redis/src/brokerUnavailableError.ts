import { TRPCError } from '@trpc/server';

/**
 * Thrown by a Redis broker's `publish` when Redis can't be reached (or doesn't answer in time):
 * the event was not published, and was never silently dropped. In a procedure it reaches the
 * client as `SERVICE_UNAVAILABLE`, so a retry later can succeed.
 */
export class BrokerUnavailableError extends TRPCError {
  constructor(channel: string, cause: unknown) {
    super({
      code: 'SERVICE_UNAVAILABLE',
      message: `The message broker is unavailable: the event for "${channel}" was not published. Try again.`,
      cause,
    });
    this.name = 'BrokerUnavailableError';
  }
}
