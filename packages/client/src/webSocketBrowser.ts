import type { ClientTlsOptions } from './clientOptions';
import type { WebSocketClass } from './socketConnection';

/** The browser's own `WebSocket`. */
export const defaultWebSocket: WebSocketClass | undefined = globalThis.WebSocket;

/** Browsers decide trust themselves (the system's and the user's certificates). */
export function webSocketWithTls(_tls: ClientTlsOptions): WebSocketClass {
  throw new Error(
    '`tls` is for Node: a browser trusts the certificates of its system and its user',
  );
}
