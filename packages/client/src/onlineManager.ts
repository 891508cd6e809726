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

export function createManualOnlineManager(initial = true): ManualOnlineManager {
  let online = initial;
  const listeners = new Set<(online: boolean) => void>();
  return {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setOnline(next) {
      if (next === online) return;
      online = next;
      for (const listener of listeners) listener(next);
    },
  };
}

/** The default: browser signals where there are any, else always online. */
export function createBrowserOnlineManager(): OnlineManager {
  const target = typeof window === 'undefined' ? null : window;
  const manual = createManualOnlineManager(
    typeof navigator === 'undefined' || navigator.onLine !== false,
  );
  if (target) {
    target.addEventListener('online', () => manual.setOnline(true));
    target.addEventListener('offline', () => manual.setOnline(false));
  }
  return { isOnline: manual.isOnline, subscribe: manual.subscribe };
}
