import {
  type CreateTRPCClientOptions,
  TRPCClientError,
  type TRPCRequestOptions,
  TRPCUntypedClient,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import type { SocketClient } from './socketClient';
import type { ServerResult } from './socketConnection';
import { errorOf, type SocketTransformer } from './socketLink';

/** Context key: attempts a call already made on the direct path, which the retry link counts. */
export const directAttemptsKey = 'duplexDirectAttempts';

export interface DirectCallsOptions {
  socket: SocketClient;
  transformer: SocketTransformer;
  /** Whether calls go over the WebSocket now (not the HTTP fallback). */
  usesSocket(): boolean;
  /** Whether a failed call may be sent again; `error` is why the socket's attempt failed. */
  mayRetry(
    type: 'query' | 'mutation',
    opts: TRPCRequestOptions | undefined,
    error: unknown,
  ): boolean;
  /** Turns any failure into the error the caller sees. */
  toError(cause: unknown): Error;
}

/**
 * The fast path for queries and mutations while a socket is open: one frame out, one frame in,
 * and a promise, without tRPC's per-call observables, link chain and abort controller (a
 * profile showed them at most of the client's CPU per call). Whatever needs the links (the
 * HTTP fallback, no open socket, an abort signal, retries) goes through them instead.
 */
export function createDirectCalls(opts: DirectCallsOptions) {
  const { socket, transformer } = opts;
  // The socket client encodes the frame before `request` returns, so the input may be shared.
  const serializeInput = (input: unknown) =>
    transformer.serializeForSend
      ? transformer.serializeForSend(input)
      : transformer.serialize(input);
  return (
    type: 'query' | 'mutation',
    path: string,
    input: unknown,
    callOpts: TRPCRequestOptions | undefined,
    viaLinks: (callOpts: TRPCRequestOptions | undefined) => Promise<unknown>,
  ): Promise<unknown> | null => {
    if (callOpts?.signal || !opts.usesSocket() || !socket.isOpen()) return null;
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      socket.request(
        { method: type, params: { path, input: serializeInput(input) } },
        {
          next(message) {
            settled = true;
            if ('error' in message) {
              reject(opts.toError(errorOf(message.error, transformer)));
              return;
            }
            const result = 'result' in message ? (message.result as ServerResult) : undefined;
            try {
              resolve(transformer.deserialize(result?.data));
            } catch (cause) {
              reject(opts.toError(cause));
            }
          },
          error(cause) {
            settled = true;
            if (!opts.mayRetry(type, callOpts, cause)) {
              reject(opts.toError(TRPCClientError.from(cause)));
              return;
            }
            const context = { ...callOpts?.context, [directAttemptsKey]: 1 };
            viaLinks({ ...callOpts, context }).then(resolve, reject);
          },
          complete() {
            if (!settled) reject(opts.toError(new Error('The call ended without an answer')));
          },
        },
      );
    });
  };
}

/**
 * tRPC's untyped client with {@link createDirectCalls} in front of `query` and `mutation`;
 * subscriptions, and calls the fast path declines, run through the links as usual.
 */
export class DuplexUntypedClient<TRouter extends AnyRouter> extends TRPCUntypedClient<TRouter> {
  constructor(
    opts: CreateTRPCClientOptions<TRouter>,
    private readonly direct: ReturnType<typeof createDirectCalls>,
  ) {
    super(opts);
  }

  override query(path: string, input?: unknown, opts?: TRPCRequestOptions): Promise<unknown> {
    return (
      this.direct('query', path, input, opts, (retryOpts) => super.query(path, input, retryOpts)) ??
      super.query(path, input, opts)
    );
  }

  override mutation(path: string, input?: unknown, opts?: TRPCRequestOptions): Promise<unknown> {
    return (
      this.direct('mutation', path, input, opts, (retryOpts) =>
        super.mutation(path, input, retryOpts),
      ) ?? super.mutation(path, input, opts)
    );
  }
}
