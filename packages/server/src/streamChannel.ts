import type { StreamCursor, StreamGap } from '@duplex/protocol';
import { type TrackedEnvelope, tracked } from '@trpc/server';
import type { Broker, BrokerItem } from './broker';

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
  /**
   * Starts a live stream (no `lastEventId`) with a {@link StreamCursor} event, whose id lets a
   * subscriber that has received nothing yet resume without loss.
   * @default whether the connection asked for it (`ctx.connection.wantsCursor`: Duplex clients
   * do, stock tRPC clients do not), read through the procedure's `signal`; `false` without one
   */
  cursor?: boolean | undefined;
}

/** Signals of subscriptions whose connection asked for the cursor; see {@link markCursorWanted}. */
const cursorSignals = new WeakSet<AbortSignal>();

/**
 * Records that the call with this `signal` came on a connection that wants stream cursors, so
 * {@link streamChannel} (given that `signal`) starts with one. `initDuplex`'s procedures do it
 * for every subscription: apps pass `signal` already and change nothing.
 */
export function markCursorWanted(signal: AbortSignal): void {
  cursorSignals.add(signal);
}

/**
 * Turns a broker channel into the body of a resumable tRPC subscription: every item is
 * `tracked(eventId, data)`, so the client resends the last id it saw on reconnect and the stream
 * replays what it missed. A `lastEventId` past retention yields one {@link StreamGap} instead of
 * silently skipping events. A live stream starts with a {@link StreamCursor} for clients that
 * asked for it (see {@link StreamChannelOptions.cursor}); no other client ever sees one.
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
export function streamChannel<TData>(
  broker: Broker,
  channel: string,
  opts: StreamChannelOptions = {},
): AsyncGenerator<TrackedEnvelope<TData | StreamGap>, void, unknown> {
  const cursor = opts.cursor ?? (opts.signal !== undefined && cursorSignals.has(opts.signal));
  const source: StreamSource = { broker, channel, opts, cursor };
  return Object.assign(streamChannelItems<TData>(source), { [streamSourceKey]: source });
}

/**
 * Marks the iterables {@link streamChannel} returns with where they read from, so a handler
 * that knows the broker (the Duplex handler) can read the broker directly and skip this
 * generator's per-event overhead. Whoever wraps such an iterable without changing its items
 * may carry the mark over; anyone else gets the plain iterable.
 */
export const streamSourceKey: unique symbol = Symbol('duplex.streamSource');

/** What a {@link streamChannel} iterable reads from; see {@link streamSourceKey}. */
export interface StreamSource {
  readonly broker: Broker;
  readonly channel: string;
  readonly opts: StreamChannelOptions;
  /** Whether the stream's cursor item is sent (a {@link StreamCursor}) or dropped. */
  readonly cursor: boolean;
}

/** The stream source behind an iterable, if it came from {@link streamChannel}. */
export function streamSourceOf(value: unknown): StreamSource | undefined {
  return typeof value === 'object' && value !== null
    ? (value as { [streamSourceKey]?: StreamSource })[streamSourceKey]
    : undefined;
}

/** The tracked item a broker item becomes in a stream. */
export function streamItemOf<TData>(item: BrokerItem<TData>): TrackedEnvelope<TData | StreamGap> {
  if (item.type === 'cursor') {
    // Typed out of the stream's data: Duplex clients drop it (see StreamCursor).
    const cursor: StreamCursor = { duplex: 'cursor' };
    return tracked(item.id, cursor as unknown as TData);
  }
  if (item.type === 'gap') {
    const gap: StreamGap = {
      duplex: 'gap',
      requestedEventId: item.requestedEventId,
      resumeEventId: item.id,
    };
    return tracked(item.id, gap);
  }
  return tracked(item.id, item.data);
}

/**
 * The generator behind {@link streamChannel}: `for await (const item of items) yield ...`, with
 * its references dropped once used. V8 keeps a generator's locals alive across its awaits, so
 * the loop would otherwise hold the last event until the channel's next one.
 */
async function* streamChannelItems<TData>(
  source: StreamSource,
): AsyncGenerator<TrackedEnvelope<TData | StreamGap>, void, unknown> {
  const { broker, channel, opts } = source;
  const items = broker.subscribe<TData>(channel, opts);
  await items.ready;
  await opts.onOpen?.();
  const iterator = items[Symbol.asyncIterator]();
  while (true) {
    let next: IteratorResult<BrokerItem<TData>> | null = await iterator.next();
    if (next.done) return;
    if (next.value.type === 'cursor' && !source.cursor) continue;
    let item: TrackedEnvelope<TData | StreamGap> | null = streamItemOf(next.value);
    next = null;
    let resumed = false;
    try {
      yield item;
      resumed = true;
    } finally {
      // The consumer stopped (`return`/`throw` at the yield): the subscription ends with it.
      if (!resumed) await iterator.return?.();
    }
    item = null;
  }
}
