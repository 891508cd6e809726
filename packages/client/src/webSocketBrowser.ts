import type { WebSocketClass } from './trackSockets';

/** The browser's own `WebSocket`. */
export const defaultWebSocket: WebSocketClass | undefined = globalThis.WebSocket;
