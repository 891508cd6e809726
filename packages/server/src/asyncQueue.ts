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
  /** Ends the queue; a stable function, usable as an event listener. */
  readonly end: () => void;
}

export function createAsyncQueue<T>(onClose: () => void): AsyncQueue<T> {
  return new Queue<T>(onClose);
}

/**
 * A class so that each queue (one per broker subscription) costs its fields and one bound
 * `end`, not a closure per method.
 */
class Queue<T> implements AsyncQueue<T> {
  private items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private ended = false;

  constructor(private readonly onClose: () => void) {}

  readonly end = (): void => {
    if (this.ended) return;
    this.ended = true;
    this.items = [];
    this.onClose();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
  };

  push(item: T): void {
    if (this.ended) return;
    const resolve = this.waiting;
    if (resolve) {
      this.waiting = null;
      resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
  }

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      return Promise.resolve({ value: this.items.shift() as T, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
