import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeCodes } from '@duplex/protocol';
import type { WebSocket } from 'ws';
import type { ConnectionCounters } from './connectionState';
import type { DuplexConnectionInfo } from './inspection';

/** The reason sent with {@link closeCodes.operatorDisconnect}. */
export const operatorDisconnectReason = 'Disconnected by an operator';

/**
 * One live connection as the inspector lists it: a WebSocket (either handler) or an HTTP event
 * stream. Plain fields, updated where the connection already does its bookkeeping; the
 * figures that change all the time (buffered bytes, subscriptions) are read only when asked.
 */
export abstract class LiveConnection {
  /** The user's `id` as `authenticate` returned it, once known. */
  userId: string | null = null;
  /** Calls made on it so far. */
  calls = 0;
  /** Subscription events sent on it so far (counted by the Duplex handler). */
  events = 0;
  /** The counters behind `subscriptions`, once authenticated. */
  counters: ConnectionCounters | null = null;
  readonly openedAt = Date.now();
  abstract readonly transport: DuplexConnectionInfo['transport'];

  constructor(
    readonly id: string,
    readonly remoteAddress: string | null,
  ) {}

  abstract get subscriptions(): number;
  abstract get bufferedBytes(): number;
  /** Closes it on an operator's request: 4403 for a socket, the end of an event stream. */
  abstract disconnect(): void;

  info(nodeId: string): DuplexConnectionInfo {
    return {
      id: this.id,
      nodeId,
      userId: this.userId,
      transport: this.transport,
      remoteAddress: this.remoteAddress,
      openedAt: this.openedAt,
      subscriptions: this.subscriptions,
      bufferedBytes: this.bufferedBytes,
      calls: this.calls,
    };
  }
}

/** A WebSocket, from its upgrade to its close. */
export class LiveSocket extends LiveConnection {
  readonly transport = 'websocket';

  constructor(
    id: string,
    private readonly socket: WebSocket,
    req: IncomingMessage,
  ) {
    super(id, req.socket.remoteAddress ?? null);
  }

  get subscriptions(): number {
    return this.counters?.subscriptions ?? 0;
  }

  /** `ws`'s own count: what it queued plus what the TCP socket holds unwritten. */
  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  disconnect(): void {
    this.socket.close(closeCodes.operatorDisconnect, operatorDisconnectReason);
  }
}

/** An HTTP event stream (one subscription of a client that fell back to HTTP). */
export class LiveEventStream extends LiveConnection {
  readonly transport = 'http';
  readonly subscriptions = 1;

  constructor(
    id: string,
    private readonly res: ServerResponse,
  ) {
    super(id, res.req.socket.remoteAddress ?? null);
    this.calls = 1;
  }

  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  /** An event stream has no close code: it is cut, and the client starts it again and resumes. */
  disconnect(): void {
    this.res.destroy();
  }
}

/** Every live connection of one server, both transports. */
export class ConnectionRegistry {
  readonly live = new Set<LiveConnection>();
  /** Events sent on connections that have closed (live ones keep their own count). */
  closedEvents = 0;

  /** Live HTTP event streams. */
  eventStreams = 0;

  add(connection: LiveConnection): void {
    this.live.add(connection);
    if (connection.transport === 'http') this.eventStreams++;
  }

  delete(connection: LiveConnection): void {
    if (!this.live.delete(connection)) return;
    this.closedEvents += connection.events;
    if (connection.transport === 'http') this.eventStreams--;
  }
}
