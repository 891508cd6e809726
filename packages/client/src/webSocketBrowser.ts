import type { WebSocketClass } from './socketConnection';

/** The browser's own `WebSocket`. */
export const defaultWebSocket: WebSocketClass | undefined = globalThis.WebSocket;

/** Extra trust for `wss://` in Node, e.g. a development certificate's CA. */
export interface ClientTlsOptions {
  /** Certificate authorities to trust (PEM), in place of Node's bundled ones. */
  ca: string | Uint8Array | (string | Uint8Array)[];
}

/** Browsers decide trust themselves (the system's and the user's certificates). */
export function webSocketWithTls(_tls: ClientTlsOptions): WebSocketClass {
  throw new Error(
    '`tls` is for Node: a browser trusts the certificates of its system and its user',
  );
}
