import { type TrackedEnvelope, tracked } from '@trpc/server';
import type { Broker } from './broker';
import type { StreamCursor, StreamGap } from './protocol';

/** Options of {@link streamChannel}. */
export interface StreamChannelOptions {
  /** Resume after this event id; tRPC fills it in from the client on reconnect. */
  lastEventId?: string | null | undefined;
  /** The procedure's signal; ends the stream when the client stops or disconnects. */
  signal?: AbortSignal | undefined;
  /**
   * Runs once the broker subscription is registered (its `ready` resolved), before any event is
   * awaited: what it publishes reaches this stream too (e.g. announcing presence).
   */
  onOpen?: () => void | Promise<void>;
}

/**
 * Turns a broker channel into the body of a resumable tRPC subscription: every item is
 * `tracked(eventId, data)`, so the client resends the last id it saw on reconnect and the stream
 * replays what it missed. A `lastEventId` past retention yields one {@link StreamGap} instead of
 * silently skipping events.
 *
 * Subscription inputs must be objects that accept `lastEventId` (tRPC merges it into object
 * inputs only), as in the example.
 * @example
 * ```ts
 * onTick: duplex.procedure
 *   .input(z.object({ lastEventId: z.string().nullish() }))
 *   .subscription(({ ctx, input, signal }) =>
 *     streamChannel<Tick>(ctx.broker, 'ticks', { lastEventId: input.lastEventId, signal }),
 *   ),
 * ```
 */
export async function* streamChannel<TData>(
  broker: Broker,
  channel: string,
  opts: StreamChannelOptions = {},
): AsyncGenerator<TrackedEnvelope<TData | StreamGap>, void, unknown> {
  const items = broker.subscribe<TData>(channel, opts);
  await items.ready;
  await opts.onOpen?.();
  for await (const item of items) {
    if (item.type === 'cursor') {
      // Typed out of the stream's data: Duplex clients drop it (see StreamCursor).
      const cursor: StreamCursor = { duplex: 'cursor' };
      yield tracked(item.id, cursor as unknown as TData);
    } else if (item.type === 'gap') {
      const gap: StreamGap = {
        duplex: 'gap',
        requestedEventId: item.requestedEventId,
        resumeEventId: item.id,
      };
      yield tracked(item.id, gap);
    } else {
      yield tracked(item.id, item.data);
    }
  }
}
