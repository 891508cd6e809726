import { WebSocket } from 'ws';
import type { WebSocketClass } from './socketConnection';

/** Node's `WebSocket`: `ws` (Node 20 has no global one). */
export const defaultWebSocket = WebSocket as unknown as WebSocketClass;

/** Extra trust for `wss://` in Node, e.g. a development certificate's CA. */
export interface ClientTlsOptions {
  /** Certificate authorities to trust (PEM), in place of Node's bundled ones. */
  ca: string | Buffer | (string | Buffer)[];
}

/** `ws` with these TLS options on every socket it opens. */
export function webSocketWithTls(tls: ClientTlsOptions): WebSocketClass {
  class TlsWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ca: tls.ca });
    }
  }
  return TlsWebSocket as unknown as WebSocketClass;
}
