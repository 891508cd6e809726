import { createSuperjsonFastPath, type SuperjsonModule } from '@duplex/protocol/internal';
import { type OperationResultEnvelope, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import superjson, { type SuperJSONResult } from 'superjson';
import type { SocketClient } from './socketClient';
import type { ServerResult } from './socketConnection';

/** How inputs are written and results read (superjson for Duplex routers). */
export interface SocketTransformer {
  serialize(value: unknown): unknown;
  /**
   * `serialize`, for an input the socket client encodes before the call returns (a direct
   * call's): the result may share `value` rather than copy it.
   * @default serialize
   */
  serializeForSend?(value: unknown): unknown;
  deserialize(value: unknown): unknown;
}

/** superjson's plain-JSON fast path (`@duplex/protocol`'s `plainJson.ts`), if its check passed. */
const fastPath = createSuperjsonFastPath(superjson as unknown as SuperjsonModule);

/**
 * superjson for frames parsed just before and read once: no defensive copy needed. A direct
 * call's plain input is sent as `{ json: input }`, the bytes superjson writes for it, without
 * superjson's walk (~4 µs for a 100 B input).
 */
export const superjsonInPlace: SocketTransformer = {
  serialize: (value) => superjson.serialize(value),
  serializeForSend: (value) =>
    fastPath?.isPlain(value) ? { json: value } : superjson.serialize(value),
  deserialize: (value) => superjson.deserialize(value as SuperJSONResult, { inPlace: true }),
};

type Envelope = OperationResultEnvelope<unknown, TRPCClientError<AnyRouter>>;

/**
 * The terminating link over a {@link SocketClient}: the same results and errors as tRPC's
 * `wsLink`, read straight from the parsed frame (one object per result, no spreads).
 */
export function socketLink<TRouter extends AnyRouter>(opts: {
  client: SocketClient;
  transformer: SocketTransformer;
}): TRPCLink<TRouter> {
  const { client, transformer } = opts;
  return () =>
    ({ op }) =>
      observable<Envelope, TRPCClientError<AnyRouter>>((observer) => {
        const stopState =
          op.type === 'subscription'
            ? client.onState((state) =>
                observer.next({
                  result:
                    state.state === 'connecting' && state.error
                      ? { ...state, error: TRPCClientError.from(state.error) }
                      : (state as Envelope['result']),
                  context: op.context,
                }),
              )
            : null;
        const cancel = client.request(
          {
            method: op.type,
            params: { path: op.path, input: transformer.serialize(op.input) },
          },
          {
            next(message) {
              if ('error' in message) {
                observer.error(errorOf(message.error, transformer));
                return;
              }
              if (!('result' in message)) return;
              const result = resultOf(message.result, transformer);
              if (result) observer.next({ result });
              else observer.error(TRPCClientError.from(new Error(transformFailure)));
            },
            error(cause) {
              observer.error(TRPCClientError.from(cause));
            },
            complete() {
              observer.complete();
            },
          },
        );
        const signal = op.signal;
        const onAbort = () => observer.complete();
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
        return () => {
          signal?.removeEventListener('abort', onAbort);
          stopState?.();
          cancel();
        };
      });
}

const transformFailure = 'Unable to transform response from server';

/** tRPC's `transformResult` for one result: `data` (or untyped) results are deserialized. */
function resultOf(result: ServerResult, transformer: SocketTransformer): Envelope['result'] | null {
  if (result === null || typeof result !== 'object') return null;
  if (result.type !== undefined && result.type !== 'data') return result as Envelope['result'];
  try {
    const data = transformer.deserialize(result.data);
    return result.id === undefined
      ? { type: 'data', data }
      : ({ type: 'data', id: result.id, data } as Envelope['result']);
  } catch {
    return null;
  }
}

/** tRPC's `transformResult` for an error frame: the deserialized shape, if it is one. */
export function errorOf(
  error: unknown,
  transformer: SocketTransformer,
): TRPCClientError<AnyRouter> {
  let shape: unknown;
  try {
    shape = transformer.deserialize(error);
  } catch {
    shape = null;
  }
  const valid =
    shape !== null &&
    typeof shape === 'object' &&
    typeof (shape as { code?: unknown }).code === 'number';
  return valid
    ? TRPCClientError.from({ error: shape as never })
    : TRPCClientError.from(new Error(transformFailure));
}
