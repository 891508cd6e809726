import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { DuplexLimits } from './limits';
import type { DuplexMetrics } from './metrics';

/** What {@link ConnectionGuard} needs to know about the server it guards. */
export interface ConnectionGuardOptions {
  limits: DuplexLimits;
  metrics: DuplexMetrics;
  /** Open WebSocket connections: sockets past the upgrade are not HTTP connections any more. */
  webSockets: () => number;
}

/**
 * Bounds the file descriptors and memory plain HTTP clients can take from a server Duplex owns.
 * Sockets are counted as they are accepted, before a byte is parsed; one over
 * `maxHttpConnections` (sockets not upgraded to WebSocket) or `maxConnectionsPerIp` is destroyed
 * at once, as Node's own `server.maxConnections` does, so clients already connected keep being
 * served. A socket that pipelines more than `maxPipelinedRequests` requests whose responses it
 * has not read is destroyed: Node serves every request of a received chunk, and a peer that never
 * reads would otherwise have each response buffered for it (about 1 GB per 20 sockets).
 */
export class ConnectionGuard {
  /** Open TCP sockets, upgraded or not. */
  private sockets = 0;
  /** Open TCP sockets per remote address. */
  private readonly perIp = new Map<string, number>();
  /** Responses started on a socket and not yet finished (or closed). */
  private readonly inFlight = new WeakMap<Socket, number>();

  constructor(private readonly opts: ConnectionGuardOptions) {}

  /** Open sockets that are not WebSocket connections: HTTP calls, event streams, idle keep-alives. */
  get httpConnections(): number {
    return Math.max(0, this.sockets - this.opts.webSockets());
  }

  /** A `connection` listener, registered before Node's HTTP parser sees the socket. */
  readonly onConnection = (socket: Socket): void => {
    const { limits, metrics } = this.opts;
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.httpConnections >= limits.maxHttpConnections || fromIp >= limits.maxConnectionsPerIp) {
      metrics.refusedSockets++;
      socket.destroy();
      return;
    }
    this.sockets++;
    this.perIp.set(ip, fromIp + 1);
    socket.once('close', () => {
      this.sockets--;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left === 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
  };

  /**
   * Admits a request, or destroys its socket when too many responses on it are unread.
   * @returns whether the request may be served
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket;
    if (socket.destroyed) return false;
    const pending = (this.inFlight.get(socket) ?? 0) + 1;
    if (pending > this.opts.limits.maxPipelinedRequests) {
      this.opts.metrics.closedPipelining++;
      socket.destroy();
      return false;
    }
    this.inFlight.set(socket, pending);
    res.once('close', () => this.inFlight.set(socket, (this.inFlight.get(socket) ?? 1) - 1));
    return true;
  }
}
