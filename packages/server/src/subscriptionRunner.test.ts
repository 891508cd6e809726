import { describe, expect, it, vi } from 'vitest';
import { type RunSubscriptionOptions, runSubscription } from './subscriptionRunner';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** A source whose `next()` results the test hands out one by one. */
function manualSource() {
  const pending: ReturnType<typeof deferred<IteratorResult<unknown>>>[] = [];
  const returned = vi.fn(async () => ({ done: true as const, value: undefined }));
  const source: AsyncIterable<unknown> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const next = deferred<IteratorResult<unknown>>();
        pending.push(next);
        return next.promise;
      },
      return: returned,
    }),
  };
  return { source, pending, returned };
}

function runOptions(controller: AbortController) {
  return {
    signal: controller.signal,
    abort: vi.fn(() => controller.abort()),
    onStarted: vi.fn(),
    onData: vi.fn(),
    onError: vi.fn(),
    onLateError: vi.fn(),
  } satisfies RunSubscriptionOptions;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('runSubscription', () => {
  it('never starts a source stopped before it started, and disposes it', async () => {
    const controller = new AbortController();
    const { source, pending, returned } = manualSource();
    const opts = runOptions(controller);
    controller.abort();
    await runSubscription(source, opts);
    expect(opts.onStarted).not.toHaveBeenCalled();
    expect(pending).toHaveLength(0);
    expect(returned).toHaveBeenCalledOnce();
  });

  it('stops at once while the source awaits its next item, and drops what it yields after', async () => {
    const controller = new AbortController();
    const { source, pending, returned } = manualSource();
    const opts = runOptions(controller);
    const done = runSubscription(source, opts);
    await turn();
    pending[0]!.resolve({ done: false, value: 1 });
    await turn();
    expect(opts.onData.mock.calls).toEqual([[1]]);
    expect(pending).toHaveLength(2);
    controller.abort();
    await done;
    expect(returned).toHaveBeenCalledOnce();
    // The item the source produced after the stop is dropped.
    pending[1]!.resolve({ done: false, value: 2 });
    await turn();
    expect(opts.onData.mock.calls).toEqual([[1]]);
    expect(opts.onError).not.toHaveBeenCalled();
    expect(opts.onLateError).not.toHaveBeenCalled();
  });

  it('takes a stop after the source completed as a no-op', async () => {
    const controller = new AbortController();
    const opts = runOptions(controller);
    const cleanup = vi.fn();
    async function* source() {
      try {
        yield 'a';
      } finally {
        cleanup();
      }
    }
    await runSubscription(source(), opts);
    expect(opts.onData.mock.calls).toEqual([['a']]);
    // Completed on its own: the signal is left alone, so a late stop finds nothing to do.
    expect(opts.abort).not.toHaveBeenCalled();
    controller.abort();
    await turn();
    expect(cleanup).toHaveBeenCalledOnce();
    expect(opts.onData).toHaveBeenCalledOnce();
    expect(opts.onError).not.toHaveBeenCalled();
    expect(opts.onLateError).not.toHaveBeenCalled();
  });

  it('reports a cleanup that throws after a stop on the server only', async () => {
    const controller = new AbortController();
    const { source, returned } = manualSource();
    returned.mockRejectedValueOnce(new Error('cleanup failed'));
    const opts = runOptions(controller);
    const done = runSubscription(source, opts);
    await turn();
    controller.abort();
    await done;
    expect(opts.onLateError).toHaveBeenCalledWith(
      expect.objectContaining({ message: 'cleanup failed' }),
    );
    expect(opts.onError).not.toHaveBeenCalled();
  });
});
