/**
 * A single-consumer async queue: `push` from event callbacks, consume with `for await`.
 * Ending it (or the consumer calling `return`) runs `onClose` once.
 */
export interface AsyncQueue<T> extends AsyncIterableIterator<T> {
  push(item: T): void;
  /** Items waiting to be read. */
  readonly size: number;
  /** Drops every waiting item. */
  clear(): void;
  end(): void;
}

export function createAsyncQueue<T>(onClose: () => void): AsyncQueue<T> {
  let items: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | null = null;
  let ended = false;

  const end = () => {
    if (ended) return;
    ended = true;
    items = [];
    onClose();
    waiting?.({ value: undefined, done: true });
    waiting = null;
  };

  return {
    push(item) {
      if (ended) return;
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: item, done: false });
        return;
      }
      items.push(item);
    },
    get size() {
      return items.length;
    },
    clear() {
      items = [];
    },
    end,
    next() {
      if (items.length > 0) return Promise.resolve({ value: items.shift() as T, done: false });
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return() {
      end();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
