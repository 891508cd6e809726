import { closeCodes } from '@duplex/protocol';
import { TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

/**
 * Every code a {@link DuplexClientError} can have. Documented in `docs/reference/errors.md`.
 * - `UNAUTHORIZED`: the server refused the credentials; the client stopped reconnecting.
 * - `FORBIDDEN`: authenticated, but not allowed to do this.
 * - `RATE_LIMITED`: too many calls or subscriptions; retry later.
 * - `PAYLOAD_TOO_LARGE`: the request was bigger than the server accepts.
 * - `BAD_REQUEST`: invalid input (the message says what), or a malformed request.
 * - `NOT_FOUND`: no such procedure, or the thing asked for does not exist.
 * - `CONFLICT`: the request conflicts with the current state.
 * - `CONNECTION_LOST`: the socket dropped before the answer came; the call may or may not have
 *   run. Queries and calls marked `idempotent` are re-sent for you before you see this.
 * - `CLOSED`: the client was closed.
 * - `SERVER_ERROR`: the server failed; details stay on the server.
 */
export type DuplexErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CONNECTION_LOST'
  | 'CLOSED'
  | 'SERVER_ERROR';

const retryableCodes: ReadonlySet<DuplexErrorCode> = new Set([
  'RATE_LIMITED',
  'CONNECTION_LOST',
  'SERVER_ERROR',
]);

/** tRPC error codes (the server's `TRPCError` codes) mapped onto Duplex codes. */
const fromServerCode: Record<string, DuplexErrorCode> = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  BAD_REQUEST: 'BAD_REQUEST',
  PARSE_ERROR: 'BAD_REQUEST',
  UNPROCESSABLE_CONTENT: 'BAD_REQUEST',
  METHOD_NOT_SUPPORTED: 'BAD_REQUEST',
  UNSUPPORTED_MEDIA_TYPE: 'BAD_REQUEST',
  PRECONDITION_REQUIRED: 'BAD_REQUEST',
  PAYMENT_REQUIRED: 'FORBIDDEN',
  NOT_IMPLEMENTED: 'NOT_FOUND',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'CONFLICT',
  CLIENT_CLOSED_REQUEST: 'CLOSED',
};

/**
 * The one error class the Duplex client rejects and errors with. It is a `TRPCClientError`
 * (so tRPC tooling keeps working) with a closed `code` and whether retrying can help.
 * @example
 * ```ts
 * try { await client.chat.send.mutate(msg); }
 * catch (err) {
 *   if (err instanceof DuplexClientError && err.retryable) scheduleRetry();
 * }
 * ```
 */
export class DuplexClientError extends TRPCClientError<AnyRouter> {
  readonly code: DuplexErrorCode;
  /** Whether the same call may succeed later (transport loss, rate limits, server failures). */
  readonly retryable: boolean;

  constructor(
    code: DuplexErrorCode,
    message: string,
    opts: { cause?: unknown; source?: TRPCClientError<AnyRouter> } = {},
  ) {
    super(message, {
      cause: opts.cause instanceof Error ? opts.cause : undefined,
      result: opts.source?.shape === undefined ? undefined : { error: opts.source.shape },
    });
    // TRPCClientError's constructor pins its own prototype; restore the subclass's.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'DuplexClientError';
    this.code = code;
    this.retryable = retryableCodes.has(code);
  }

  /** Converts any error from the tRPC link chain into a `DuplexClientError`. */
  static fromUnknown(error: unknown): DuplexClientError {
    if (error instanceof DuplexClientError) return error;
    const source =
      error instanceof TRPCClientError ? (error as TRPCClientError<AnyRouter>) : undefined;
    const serverCode = (source?.data as { code?: string } | undefined)?.code;
    if (serverCode !== undefined) {
      const code = fromServerCode[serverCode] ?? 'SERVER_ERROR';
      return new DuplexClientError(code, source?.message ?? code, { cause: error, source });
    }
    // The socket was closed because the server refused the credentials: the call failed for that.
    if (closeCodeOf(error) === closeCodes.unauthorized) {
      return new DuplexClientError('UNAUTHORIZED', 'The server refused the credentials', {
        cause: error,
      });
    }
    if (closeCodeOf(error) === closeCodes.payloadTooLarge) {
      return new DuplexClientError(
        'PAYLOAD_TOO_LARGE',
        'The request is larger than the server accepts',
        {
          cause: error,
        },
      );
    }
    return new DuplexClientError(
      'CONNECTION_LOST',
      'The connection dropped before the server answered; the call may or may not have run',
      { cause: error },
    );
  }
}

/** The close code of the socket whose loss failed a call, if the error says. */
export function closeCodeOf(error: unknown): number | undefined {
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}
