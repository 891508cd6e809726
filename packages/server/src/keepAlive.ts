import type { WebSocket } from 'ws';
import { realTimers } from './realTimers';

/** Keepalive options of the server. */
export interface KeepAliveOptions {
  /**
   * How often each socket is pinged (a WebSocket ping frame, which browsers answer on their
   * own). Under the 30–60 s idle timeouts of common proxies and load balancers.
   * @default 20_000
   */
  pingIntervalMs?: number;
  /**
   * How long a peer may stay silent (no pong, no frame) before it is terminated; raised to
   * `pingIntervalMs` if smaller. A dead or half-open peer is gone within this time plus one
   * interval.
   * @default 20_000
   */
  timeoutMs?: number;
}

/** Defaults of {@link KeepAliveOptions}. */
export const keepAliveDefaults = {
  pingIntervalMs: 20_000,
  timeoutMs: 20_000,
} satisfies Required<KeepAliveOptions>;

export interface KeepAlive {
  /** Starts watching a socket. */
  watch(socket: WebSocket): void;
  /** Marks a socket as alive (it sent something). */
  touch(socket: WebSocket): void;
  stop(): void;
}

/** One timer for all sockets: each tick reaps the silent ones and pings the rest. */
export function createKeepAlive(opts: KeepAliveOptions, onReap: () => void): KeepAlive {
  const { pingIntervalMs, ...rest } = { ...keepAliveDefaults, ...opts };
  // A timeout shorter than the interval would reap healthy peers between two pings.
  const timeoutMs = Math.max(rest.timeoutMs, pingIntervalMs);
  const lastSeen = new Map<WebSocket, number>();
  const timer = realTimers.setInterval(() => {
    const now = realTimers.now();
    for (const [socket, seen] of lastSeen) {
      if (now - seen >= timeoutMs) {
        lastSeen.delete(socket);
        onReap();
        socket.terminate();
      } else if (socket.readyState === socket.OPEN) {
        socket.ping();
      }
    }
  }, pingIntervalMs);
  timer.unref?.();
  const touch = (socket: WebSocket) => {
    if (lastSeen.has(socket)) lastSeen.set(socket, realTimers.now());
  };
  // Shared by every socket (`this` is the socket), so watching one allocates nothing.
  function onPong(this: WebSocket) {
    touch(this);
  }
  function onClose(this: WebSocket) {
    lastSeen.delete(this);
  }
  return {
    watch(socket) {
      lastSeen.set(socket, realTimers.now());
      socket.on('pong', onPong);
      socket.once('close', onClose);
    },
    touch,
    stop() {
      realTimers.clearInterval(timer);
      lastSeen.clear();
    },
  };
}
