/** The connection status of a Duplex client. */
export type DuplexStatus =
  | { readonly state: 'connecting' }
  | {
      readonly state: 'open';
      /** Over the WebSocket, or over HTTP and server-sent events after a fallback. */
      readonly transport: 'websocket' | 'http';
    }
  | {
      readonly state: 'reconnecting';
      /** 0-based reconnect attempt since the connection was last open. */
      readonly attempt: number;
      /** When the next attempt starts (epoch ms), or `null` if it is under way. */
      readonly nextRetryAt: number | null;
      /** The close code of the socket that was lost, if one was open. */
      readonly closeCode: number | null;
    }
  | { readonly state: 'offline' }
  | { readonly state: 'unauthorized' }
  | { readonly state: 'closed' };

/** A readable, subscribable status. */
export interface StatusStore {
  /** The status now. */
  get(): DuplexStatus;
  /** Calls `listener` on every change (not with the current value); returns the unsubscribe. */
  subscribe(listener: (status: DuplexStatus) => void): () => void;
}

/** Whether two statuses say the same (statuses are flat objects). */
export function sameStatus(a: DuplexStatus, b: DuplexStatus): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => (a as Record<string, unknown>)[key] === (b as Record<string, unknown>)[key])
  );
}
