/** The `WebSocket` constructor shape Duplex needs (the browser's, or `ws`'s in Node). */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => WebSocket;

export interface SocketHooks {
  /** The server accepted the connection (its `duplex.ready` notification arrived). */
  ready(): void;
  /** `wasReady` tells a lost connection from a failed attempt. */
  closed(code: number, wasReady: boolean): void;
}

import { readyNotification } from '@duplex/server/protocol';

/**
 * Subclasses a `WebSocket` class so the client sees each socket become ready (authenticated)
 * and close, with its close code (which the tRPC client does not surface per socket).
 */
export function trackSockets(Base: WebSocketClass, hooks: SocketHooks): WebSocketClass {
  return class extends (Base as new (url: string, protocols?: string | string[]) => WebSocket) {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      let wasReady = false;
      const onMessage = (event: MessageEvent) => {
        if (event.data !== readyNotification) return;
        wasReady = true;
        this.removeEventListener('message', onMessage);
        hooks.ready();
      };
      this.addEventListener('message', onMessage);
      this.addEventListener('close', (event) => hooks.closed(event.code, wasReady));
    }
  };
}
