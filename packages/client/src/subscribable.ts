/**
 * "Subscribe, notify, unsubscribe" in one place (TanStack Query's `Subscribable`): a set of
 * listeners, with hooks for the first subscriber and after the last, where a store can add and
 * remove the global listeners it relies on.
 */
export class Subscribable<TValue> {
  /** Listeners, in the order they subscribed. */
  protected readonly listeners = new Set<(value: TValue) => void>();

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe = (listener: (value: TValue) => void): (() => void) => {
    // A wrapper per call, so the same function subscribed twice needs two unsubscribes.
    const entry = (value: TValue) => listener(value);
    this.listeners.add(entry);
    if (this.listeners.size === 1) this.onSubscribe();
    return () => {
      if (this.listeners.delete(entry) && this.listeners.size === 0) this.onUnsubscribe();
    };
  };

  /** Whether anything listens. */
  hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  /** Runs when the first listener subscribes. */
  protected onSubscribe(): void {}

  /** Runs after the last listener unsubscribed. */
  protected onUnsubscribe(): void {}

  protected notify(value: TValue): void {
    for (const listener of this.listeners) listener(value);
  }
}

/** A value that can be read and watched; `set` notifies when it changes. */
export class ValueStore<TValue> extends Subscribable<TValue> {
  #current: TValue;
  /** Whether two values say the same; an equal `set` notifies no one. */
  readonly #equal: (a: TValue, b: TValue) => boolean;

  constructor(initial: TValue, equal: (a: TValue, b: TValue) => boolean = Object.is) {
    super();
    this.#current = initial;
    this.#equal = equal;
  }

  /** The value now. */
  get = (): TValue => this.#current;

  /** Changes the value and tells every listener, unless it is the same. */
  set(next: TValue): void {
    if (this.#equal(next, this.#current)) return;
    this.#current = next;
    this.notify(next);
  }
}
