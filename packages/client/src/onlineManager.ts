import { ValueStore } from './subscribable';

/**
 * Where the client learns whether the network is up (TanStack Query's `onlineManager`
 * pattern). The default follows `navigator.onLine` and the window's `online`/`offline` events
 * where they exist (browsers) and is always online elsewhere (Node); tests and apps may drive it.
 */
export interface OnlineManager {
  isOnline(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (online: boolean) => void): () => void;
}

/** An {@link OnlineManager} you drive yourself, e.g. from a native app's network callback. */
export interface ManualOnlineManager extends OnlineManager {
  setOnline(online: boolean): void;
}

/** Online state as a store: what both managers below are built on. */
class OnlineStore extends ValueStore<boolean> implements ManualOnlineManager {
  isOnline = (): boolean => this.get();
  setOnline = (online: boolean): void => this.set(online);
}

export function createManualOnlineManager(initial = true): ManualOnlineManager {
  return new OnlineStore(initial);
}

/**
 * Follows the window's `online`/`offline` events, listening only while something subscribed:
 * the listeners go on with the first subscriber and come off after the last (a closed client
 * leaves none behind).
 */
class BrowserOnlineStore extends OnlineStore {
  readonly #onOnline = () => this.set(true);
  readonly #onOffline = () => this.set(false);

  protected override onSubscribe(): void {
    // The state may have changed while nobody listened.
    this.set(navigator.onLine !== false);
    window.addEventListener('online', this.#onOnline);
    window.addEventListener('offline', this.#onOffline);
  }

  protected override onUnsubscribe(): void {
    window.removeEventListener('online', this.#onOnline);
    window.removeEventListener('offline', this.#onOffline);
  }
}

/** The default: browser signals where there are any, else always online. */
export function createBrowserOnlineManager(): OnlineManager {
  if (typeof window === 'undefined' || typeof navigator === 'undefined')
    return new OnlineStore(true);
  const store = new BrowserOnlineStore(navigator.onLine !== false);
  return { isOnline: store.isOnline, subscribe: store.subscribe };
}
