/** The browser's own `EventSource`, for the HTTP fallback's streams. */
export const defaultEventSource: typeof globalThis.EventSource | undefined = globalThis.EventSource;
