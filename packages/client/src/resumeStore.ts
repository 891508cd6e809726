/**
 * Keeps subscription resume cursors (the last event id per subscription) beyond the client's
 * lifetime, so a reloaded page or restarted process resumes too.
 */
export interface ResumeStore {
  get(key: string): string | null;
  set(key: string, eventId: string): void;
}

/**
 * A {@link ResumeStore} on `localStorage` (browsers). Keys are prefixed; a storage that throws
 * (private mode, quota) degrades to no persistence.
 * @example
 * ```ts
 * createDuplexClient<AppRouter>({ url, resumeStore: localStorageResumeStore() });
 * ```
 */
export function localStorageResumeStore(prefix = 'duplex:resume:'): ResumeStore {
  return {
    get(key) {
      try {
        return globalThis.localStorage?.getItem(prefix + key) ?? null;
      } catch {
        return null;
      }
    },
    set(key, eventId) {
      try {
        globalThis.localStorage?.setItem(prefix + key, eventId);
      } catch {
        // Persistence is best effort; the in-memory cursor still resumes this session.
      }
    },
  };
}

/** A {@link ResumeStore} in memory, shared by clients that get the same instance. */
export function memoryResumeStore(): ResumeStore {
  const cursors = new Map<string, string>();
  return {
    get: (key) => cursors.get(key) ?? null,
    set: (key, eventId) => {
      cursors.set(key, eventId);
    },
  };
}
