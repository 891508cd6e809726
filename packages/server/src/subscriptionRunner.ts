import { getTRPCErrorFromUnknown } from '@trpc/server';
import type { BrokerItem } from './broker';
import { type StreamSource, streamItemOf } from './streamChannel';

/** Options of {@link runSubscription}. */
export interface RunSubscriptionOptions {
  /** Aborted by a `subscription.stop` or the socket closing. */
  signal: AbortSignal;
  /** Aborts `signal`: done whenever iteration ends other than by the source completing. */
  abort(): void;
  /** The subscription is running: send `started`. */
  onStarted(): void;
  /** One yielded item. */
  onData(value: unknown): void;
  /** One broker event, from {@link runStream}: the same frame as `onData(tracked(id, data))`. */
  onEvent?(eventId: string, data: unknown): void;
  /** The source failed while running: the client gets this error (then `stopped`). */
  onError(cause: unknown): void;
  /** A failure after the stop (a throwing cleanup): reported on the server only. */
  onLateError(cause: unknown): void;
}

type Step = 'sent' | 'done' | 'abort' | { failed: unknown };

/**
 * Drives one subscription's source the way the stock tRPC handler does, without its
 * per-event `Promise.race`: each `next()` races a stop through one resolver that the abort
 * listener calls, so a source stuck awaiting still stops at once. Resolves once the source is
 * disposed (`return()` awaited), which is when the caller sends `stopped`.
 *
 * Each item is sent from the callback that receives it, and the loop only learns that it was:
 * V8 keeps an async function's locals alive across its next `await`, so an item held in the
 * loop would stay in memory until the source yields again (tRPC #6156), for as long as an idle
 * subscription lasts.
 */
export async function runSubscription(
  source: AsyncIterable<unknown>,
  opts: RunSubscriptionOptions,
): Promise<void> {
  const { signal } = opts;
  const iterator = source[Symbol.asyncIterator]();
  const dispose = async () => {
    await iterator.return?.();
  };
  if (signal.aborted) {
    opts.abort();
    await dispose().catch(opts.onLateError);
    return;
  }
  opts.onStarted();

  let settle: ((step: Step) => void) | null = null;
  const onAbort = () => settle?.('abort');
  signal.addEventListener('abort', onAbort, { once: true });
  const onRejected = (cause: unknown): Step => {
    if (!signal.aborted) return { failed: cause };
    // An AbortError is how a stopped source is expected to end.
    if (
      (getTRPCErrorFromUnknown(cause).cause as { name?: unknown } | undefined)?.name !==
      'AbortError'
    ) {
      opts.onLateError(cause);
    }
    return 'abort';
  };
  const send = (result: IteratorResult<unknown>): Step => {
    try {
      if (result.done) return 'done';
      opts.onData(result.value);
      return 'sent';
    } catch (cause) {
      // The value could not be encoded (or the result was no object): the stream failed.
      return { failed: cause };
    }
  };
  const step = () =>
    new Promise<Step>((resolve) => {
      settle = resolve;
      iterator.next().then(
        (result) => resolve(signal.aborted ? 'abort' : send(result)),
        (cause: unknown) => resolve(onRejected(cause)),
      );
    });

  let completed = false;
  let failure: { failed: unknown } | null = null;
  try {
    while (!signal.aborted) {
      const next = await step();
      if (next === 'sent') continue;
      if (next === 'done') completed = true;
      else if (next !== 'abort') failure = next;
      break;
    }
  } finally {
    settle = null;
    signal.removeEventListener('abort', onAbort);
  }
  if (!completed) opts.abort();
  try {
    await dispose();
  } catch (cause) {
    // The client gets the iteration error if there was one; the server gets both.
    opts.onLateError(cause);
  }
  if (failure) opts.onError(failure.failed);
}

/**
 * Runs a `streamChannel` subscription straight off its broker: the same items, errors and
 * ending as iterating the `streamChannel` generator (and any wrapper that marked it), without
 * the generator's per-event hops, so a delivery costs one resolved promise. `wrapper` is what
 * the procedure returned; it is only disposed (its wrappers release their resources).
 */
export async function runStream(
  source: StreamSource,
  wrapper: AsyncIterable<unknown>,
  opts: RunSubscriptionOptions,
): Promise<void> {
  const { signal } = opts;
  // Created only to be disposed: an idle subscription holds none of its closures.
  const disposeWrapper = async () => {
    await wrapper[Symbol.asyncIterator]().return?.();
  };
  if (signal.aborted) {
    opts.abort();
    await disposeWrapper().catch(opts.onLateError);
    return;
  }
  opts.onStarted();
  let completed = false;
  let failure: { failed: unknown } | null = null;
  const { broker, channel, opts: streamOpts } = source;
  const send = (item: BrokerItem<unknown>) => {
    if (item.type === 'cursor' && !source.cursor) return;
    if (item.type === 'event' && opts.onEvent) opts.onEvent(item.id, item.data);
    else opts.onData(streamItemOf(item));
  };
  const streamSignal =
    !streamOpts.signal || streamOpts.signal === signal
      ? signal
      : AbortSignal.any([streamOpts.signal, signal]);
  try {
    const items = broker.subscribe<unknown>(channel, {
      lastEventId: streamOpts.lastEventId,
      signal: streamSignal,
    });
    const iterator = items[Symbol.asyncIterator]();
    try {
      await items.ready;
      await streamOpts.onOpen?.();
      while (!signal.aborted) {
        let next: IteratorResult<BrokerItem<unknown>> | null = await iterator.next();
        if (next.done) {
          completed = true;
          break;
        }
        send(next.value);
        // V8 keeps an async function's locals alive across its next `await`: without this, the
        // last event sent would stay in memory until the channel's next one.
        next = null;
      }
    } finally {
      if (!completed) opts.abort();
      await iterator.return?.();
    }
  } catch (cause) {
    // After a stop, a failure is the source ending as told to; it is reported, not sent.
    if (signal.aborted) opts.onLateError(cause);
    else failure = { failed: cause };
  }
  if (!completed) opts.abort();
  try {
    await disposeWrapper();
  } catch (cause) {
    opts.onLateError(cause);
  }
  if (failure) opts.onError(failure.failed);
}
