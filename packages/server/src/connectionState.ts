/**
 * What Duplex knows about one connection (a WebSocket, or one plain HTTP request). The
 * public part is `ctx.connection`; counters used by limits live in a WeakMap keyed by it, so
 * app middleware that copies the context cannot tamper with them.
 */
export interface DuplexConnection {
  /** Unique per connection, stable for its lifetime. */
  readonly id: string;
  /** How the call arrived. */
  readonly transport: 'ws' | 'http';
}

export interface ConnectionCounters {
  subscriptions: number;
  maxSubscriptions: number;
  onSubscriptionsChange(delta: number): void;
}

const counters = new WeakMap<DuplexConnection, ConnectionCounters>();

let nextId = 0;
const idPrefix = Math.random().toString(36).slice(2, 8);

/**
 * A new connection with counters of its own, or with `shared` ones (the HTTP requests of one
 * user share one subscription count).
 */
export function createConnection(
  transport: DuplexConnection['transport'],
  limits: Omit<ConnectionCounters, 'subscriptions'>,
  shared?: ConnectionCounters,
): DuplexConnection {
  const connection: DuplexConnection = { id: `${idPrefix}-${++nextId}`, transport };
  counters.set(connection, shared ?? { subscriptions: 0, ...limits });
  return connection;
}

export function countersOf(connection: DuplexConnection): ConnectionCounters | undefined {
  return counters.get(connection);
}

const expiries = new WeakMap<DuplexConnection, number>();

/** Records when the credentials of an HTTP event stream's connection expire (epoch ms). */
export function setExpiry(connection: DuplexConnection, expiresAt: number): void {
  expiries.set(connection, expiresAt);
}

/** When the connection's credentials expire, if it is an HTTP event stream that knows. */
export function expiryOf(connection: DuplexConnection): number | undefined {
  return expiries.get(connection);
}
