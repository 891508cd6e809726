/**
 * What a running server tells its operator about itself: figures for one node, its live
 * connections, and the two actions an operator takes on them. `@duplex/admin` builds the
 * dashboard on it; an app can read it directly (`server.inspector`).
 *
 * Counters are monotonic totals since the node started: a reader derives rates from two
 * snapshots, and a cluster total is the sum over its nodes.
 */

/** The upper bounds (seconds) of the per-procedure latency buckets; the last bucket is +Inf. */
export const procedureBucketsSeconds = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** One procedure path's calls on this node. */
export interface DuplexProcedureStats {
  /** `chat.send` */
  readonly path: string;
  readonly type: 'query' | 'mutation' | 'subscription';
  /** Calls finished (for a subscription: started). */
  readonly calls: number;
  /** Calls that ended in an error, by tRPC error code (`{ NOT_FOUND: 2 }`). */
  readonly errors: Readonly<Record<string, number>>;
  /**
   * Non-cumulative counts per latency bucket: `buckets[i]` counts calls that took at most
   * `procedureBucketsSeconds[i]` and more than the bound before it; the last entry (one longer
   * than the bounds) counts the rest. A subscription's latency is the time to its start.
   */
  readonly buckets: readonly number[];
  /** Sum of the latencies, in seconds. */
  readonly sumSeconds: number;
}

/** One broker channel with live subscribers on this node. */
export interface DuplexChannelStats {
  readonly channel: string;
  /** Subscribers on this node. */
  readonly subscribers: number;
  /** Events published to it through this node since it started. */
  readonly published: number;
  /** Events its log retains now, when the broker can tell cheaply (memory); else `null`. */
  readonly retained: number | null;
  /** The newest event id this node has seen on it, or `null`. */
  readonly lastEventId: string | null;
}

/** The broker as this node sees it. */
export interface DuplexBrokerStats {
  readonly kind: 'memory' | 'redis' | 'other';
  /** `ready`, or why not (`reconnecting`, `closed`). */
  readonly state: 'ready' | 'reconnecting' | 'closed';
  /** Times the broker lost its connection since the node started. */
  readonly outages: number;
  /** Publish round trips (seconds) in {@link procedureBucketsSeconds}' buckets, or `null`. */
  readonly publishBuckets: readonly number[] | null;
}

/** One live connection on this node. */
export interface DuplexConnectionInfo {
  readonly id: string;
  /** The node it is on ({@link DuplexNodeStats.nodeId}). */
  readonly nodeId: string;
  /** The user's `id` as `authenticate` returned it, or `null` before authentication. */
  readonly userId: string | null;
  /** `websocket`, or `http` for an HTTP event stream. */
  readonly transport: 'websocket' | 'http';
  /** The peer's address as the server saw it (a proxy's, behind one). */
  readonly remoteAddress: string | null;
  /** Epoch ms. */
  readonly openedAt: number;
  readonly subscriptions: number;
  /** Bytes queued to the socket and not yet written to the kernel. */
  readonly bufferedBytes: number;
  /** Calls made on it so far. */
  readonly calls: number;
}

/** A node's figures at one moment. Small enough to send every few seconds. */
export interface DuplexNodeStats {
  /** Unique per process: `<hostname>:<pid>:<random>`, or the server's `nodeId` option. */
  readonly nodeId: string;
  /** Epoch ms of this snapshot. */
  readonly at: number;
  /** Epoch ms the server was created. */
  readonly startedAt: number;
  readonly connections: { readonly websocket: number; readonly http: number };
  /** Distinct authenticated user ids connected to this node. */
  readonly usersOnline: number;
  readonly subscriptions: number;
  /** Calls finished (all procedures, all transports). */
  readonly calls: number;
  /**
   * Events sent to subscribers (one per subscriber an event reached): every data frame of a
   * subscription on the Duplex handler, a resumable stream's start cursor and gaps included.
   * The stock handler and HTTP event streams send through tRPC and are not counted.
   */
  readonly events: number;
  /** Connections the server closed or refused, by close code (`{ '4401': 3 }`). */
  readonly closesByCode: Readonly<Record<string, number>>;
  /** Calls answered with an error, by tRPC error code. */
  readonly errorsByCode: Readonly<Record<string, number>>;
  /** Event-loop delay since the previous snapshot (ms), from `perf_hooks.monitorEventLoopDelay`. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly memory: { readonly heapUsedBytes: number; readonly rssBytes: number };
  /** Process CPU seconds (user + system) since it started. */
  readonly cpuSeconds: number;
  readonly procedures: readonly DuplexProcedureStats[];
  /** Channels with subscribers on this node, most subscribed first, at most 100. */
  readonly channels: readonly DuplexChannelStats[];
  readonly broker: DuplexBrokerStats;
}

/** Options of {@link DuplexInspector.connections}. */
export interface DuplexConnectionQuery {
  /** Only this user's connections. */
  userId?: string;
  /**
   * At most this many, most buffered bytes first, then newest (capped at 10,000).
   * @default 200
   */
  limit?: number;
}

/** A server's view of itself: `server.inspector`. */
export interface DuplexInspector {
  readonly nodeId: string;
  /** The node's figures now. Costs one pass over the connections; meant for every few seconds. */
  stats(): DuplexNodeStats;
  connections(query?: DuplexConnectionQuery): DuplexConnectionInfo[];
  /**
   * Closes one connection of this node with 4000-range code 4403 ("Disconnected by an
   * operator"); the client reconnects as after any close, and its subscriptions resume.
   * An HTTP event stream has no close code: it is cut, and the client starts it again. Each
   * disconnect is logged at `warn` through the server's `logger` (`event:
   * 'duplex.operatorDisconnect'`, with the connection, its user and `by`).
   * @returns whether this node had it
   */
  disconnect(connectionId: string, opts?: DuplexDisconnectOptions): boolean;
  /** Closes every connection of the user on this node, as {@link disconnect}. @returns how many */
  disconnectUser(userId: string, opts?: DuplexDisconnectOptions): number;
}

/** Options of {@link DuplexInspector.disconnect} and {@link DuplexInspector.disconnectUser}. */
export interface DuplexDisconnectOptions {
  /** Who asked (an operator's user id), written to the audit log line. */
  by?: string;
}
