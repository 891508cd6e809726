import { readyNotification } from '@duplex/protocol';

/** The `WebSocket` constructor shape Duplex needs (the browser's, or `ws`'s in Node). */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => WebSocket;

/** A frame from the server, as the pinned tRPC wire protocol defines it. */
export type ServerMessage =
  | { id: number | string | null; result: ServerResult }
  | { id: number | string | null; error: unknown }
  | { id: number | string | null; method: string };

/** A result frame's `result`: `started`, `stopped`, or `data` (with a tracked `id`). */
export interface ServerResult {
  type?: 'started' | 'stopped' | 'data';
  id?: string;
  data?: unknown;
}

/** Close code reported when the client gives up on a silent socket (no `PONG` in time). */
export const keepAliveTimeoutCode = 1006;

export interface SocketConnectionOptions {
  url: string;
  WebSocket: WebSocketClass;
  /** Sent as the first frame (tRPC's `connectionParams` message). */
  connectionParams: Record<string, string>;
  /** A `PING` after this much silence; the socket counts as lost without a `PONG` in time. */
  keepAlive: { intervalMs: number; pongTimeoutMs: number } | null;
  /** The server accepted the connection: its `duplex.ready` notification arrived. */
  onReady(connection: SocketConnection): void;
  onMessage(message: ServerMessage, connection: SocketConnection): void;
  /** Runs once. `wasReady` tells a lost connection from a failed attempt. */
  onClose(connection: SocketConnection, code: number, wasReady: boolean): void;
}

/**
 * One WebSocket to a Duplex server: sends `connectionParams` on open, answers `PING`, runs the
 * client keepalive, parses frames and reports them, ready (authenticated) and closed.
 */
export class SocketConnection {
  ready = false;
  closed = false;
  private readonly ws: WebSocket;
  /** A frame arrived since the keepalive last looked. */
  private heard = false;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: SocketConnectionOptions) {
    const separator = opts.url.includes('?') ? '&' : '?';
    this.ws = new opts.WebSocket(`${opts.url}${separator}connectionParams=1`);
    this.ws.addEventListener('open', () => {
      this.ws.send(JSON.stringify({ method: 'connectionParams', data: opts.connectionParams }));
      this.startKeepAlive();
    });
    this.ws.addEventListener('message', (event) => this.receive(event.data));
    this.ws.addEventListener('close', (event) => this.finish(event.code));
    // Browsers and `ws` follow an error with a close; only that close is handled.
    this.ws.addEventListener('error', () => {});
  }

  /** Whether frames can be sent now. */
  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === 1;
  }

  send(text: string): void {
    if (this.isOpen) this.ws.send(text);
  }

  /** Closes the socket; `onClose` runs at once, not when the close handshake ends. */
  close(): void {
    this.finish(1000);
  }

  private receive(data: unknown): void {
    if (this.closed || typeof data !== 'string') return;
    this.heard = true;
    // Any frame proves the server alive, a `PONG` stuck behind a backlog of events included.
    if (this.pongTimer !== undefined) {
      clearTimeout(this.pongTimer);
      this.pongTimer = undefined;
    }
    if (data === 'PING') {
      this.send('PONG');
      return;
    }
    if (data === 'PONG') return;
    if (data === readyNotification) {
      this.ready = true;
      this.opts.onReady(this);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      // Not a tRPC frame: nothing to route it to.
      return;
    }
    if (Array.isArray(parsed)) for (const message of parsed) this.opts.onMessage(message, this);
    else if (parsed !== null && typeof parsed === 'object')
      this.opts.onMessage(parsed as ServerMessage, this);
  }

  /**
   * Checks every `intervalMs` whether the server said anything since the last check; after a
   * silent interval it sends a `PING` (one at a time) and drops the socket if nothing arrives
   * within `pongTimeoutMs`. A flag per frame, not a timer reset per frame: resetting a timer
   * on every event was 3% of the client's CPU per delivery in fan-out profiles.
   */
  private startKeepAlive(): void {
    const keepAlive = this.opts.keepAlive;
    if (!keepAlive || this.closed) return;
    this.keepAliveTimer = setInterval(() => {
      if (this.heard) {
        this.heard = false;
        return;
      }
      if (this.pongTimer !== undefined) return;
      this.send('PING');
      this.pongTimer = setTimeout(() => this.finish(keepAliveTimeoutCode), keepAlive.pongTimeoutMs);
    }, keepAlive.intervalMs);
  }

  private finish(code: number): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.pongTimer);
    if (this.ws.readyState <= 1) {
      // A dead peer never answers the close handshake: `ws` would wait 30 s for it.
      const terminate = (this.ws as { terminate?: () => void }).terminate;
      if (code === keepAliveTimeoutCode && terminate) terminate.call(this.ws);
      else this.ws.close();
    }
    this.opts.onClose(this, code, this.ready);
  }
}
