import { EventSource } from 'eventsource';

/** Node 20 has no `EventSource`: the `eventsource` package, for the HTTP fallback's streams. */
export const defaultEventSource = EventSource as unknown as typeof globalThis.EventSource;
