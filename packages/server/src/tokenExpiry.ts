import { closeCodes } from '@duplex/protocol';
import type { WebSocket } from 'ws';
import { realTimers } from './realTimers';

/** The tRPC notification that makes a client open a new socket and move its subscriptions. */
export const reconnectNotification = JSON.stringify({ id: null, method: 'reconnect' });

/** Options of {@link scheduleTokenExpiry}. */
export interface TokenExpiryOptions {
  /** When the connection's credential expires, epoch ms. */
  expiresAtMs: number;
  /** How long before expiry the client is asked to reconnect; capped at half the time left. */
  refreshLeadMs: number;
  /** Cancels both timers (the connection closed). */
  signal: AbortSignal;
  /** Sends the reconnect notification; each handler owns how its socket sends. */
  sendReconnect: () => void;
}

/**
 * Asks the connection to reconnect before its token expires, and closes it with 4410 at expiry
 * if it is still on the old token.
 */
export function scheduleTokenExpiry(socket: WebSocket, opts: TokenExpiryOptions): void {
  const left = opts.expiresAtMs - Date.now();
  const refreshIn = Math.max(0, left - Math.min(opts.refreshLeadMs, left / 2));
  const cancelRefresh = setLongTimeout(() => {
    if (socket.readyState === socket.OPEN) opts.sendReconnect();
  }, refreshIn);
  const cancelExpire = setLongTimeout(
    () => socket.close(closeCodes.tokenExpired, 'Token expired'),
    left,
  );
  opts.signal.addEventListener('abort', () => {
    cancelRefresh();
    cancelExpire();
  });
}

/** Node fires timers longer than 2^31-1 ms (~24.8 days) at once; this waits in steps instead. */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  const maxDelayMs = 2 ** 31 - 1;
  let timer: NodeJS.Timeout;
  const schedule = (left: number) => {
    timer = realTimers.setTimeout(
      () => (left > maxDelayMs ? schedule(left - maxDelayMs) : fn()),
      Math.min(left, maxDelayMs),
    );
    timer.unref?.();
  };
  schedule(Math.max(0, ms));
  return () => realTimers.clearTimeout(timer);
}
