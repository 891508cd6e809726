import { WebSocket } from 'ws';
import type { ClientTlsOptions } from './clientOptions';
import type { WebSocketClass } from './socketConnection';

/** Node's `WebSocket`: `ws` (Node 20 has no global one). */
export const defaultWebSocket = WebSocket as unknown as WebSocketClass;

/** `ws` with these TLS options on every socket it opens. */
export function webSocketWithTls(tls: ClientTlsOptions): WebSocketClass {
  class TlsWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ca: toNodeCa(tls.ca) });
    }
  }
  return TlsWebSocket as unknown as WebSocketClass;
}

function toNodeCa(ca: ClientTlsOptions['ca']): string | Buffer | (string | Buffer)[] {
  const one = (c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c));
  return Array.isArray(ca) ? ca.map(one) : one(ca);
}
