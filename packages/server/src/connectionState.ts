import { capabilitiesParam, cursorCapability } from '@duplex/protocol';
import type { ServerFigures } from './serverFigures';
import type { CallTracer } from './tracing';

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
  /**
   * The client asked for a `{ duplex: 'cursor' }` event at the start of live streams (the
   * Duplex client does, in its `connectionParams`); stock tRPC clients do not and never get one.
   */
  readonly wantsCursor: boolean;
}

/** `connectionParams` as `authenticate` sees them, and the Duplex capabilities they declared. */
export interface ClientParams {
  /** The params without the reserved {@link capabilitiesParam} key. */
  connectionParams: Record<string, string | undefined> | null;
  /** The client declared the cursor capability. */
  wantsCursor: boolean;
}

/** Takes the reserved capabilities key out of a client's `connectionParams`. */
export function readClientParams(params: Record<string, string | undefined> | null): ClientParams {
  if (!params || !(capabilitiesParam in params)) {
    return { connectionParams: params, wantsCursor: false };
  }
  const { [capabilitiesParam]: declared, ...connectionParams } = params;
  const wantsCursor =
    typeof declared === 'string' &&
    declared.split(',').some((capability) => capability.trim() === cursorCapability);
  return { connectionParams, wantsCursor };
}

export interface ConnectionCounters {
  subscriptions: number;
  maxSubscriptions: number;
  onSubscriptionsChange(delta: number): void;
}

const counters = new WeakMap<DuplexConnection, ConnectionCounters>();

let nextId = 0;
const idPrefix = Math.random().toString(36).slice(2, 8);

/** A new connection id, unique in this process: `<random>-<n>`. */
export function newConnectionId(): string {
  return `${idPrefix}-${++nextId}`;
}

/**
 * A new connection with counters of its own, or with `shared` ones (the HTTP requests of one
 * user share one subscription count).
 */
export function createConnection(
  transport: DuplexConnection['transport'],
  wantsCursor: boolean,
  opts: {
    limits: Omit<ConnectionCounters, 'subscriptions'>;
    shared?: ConnectionCounters;
    /** The id the server already gave the socket (its inspector lists it before sign-in). */
    id?: string;
  },
): DuplexConnection {
  const { limits, shared } = opts;
  const connection: DuplexConnection = {
    id: opts.id ?? newConnectionId(),
    transport,
    wantsCursor,
  };
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

/** Where the calls of a connection served by the stock handler are counted and traced. */
export interface CallObserver {
  figures: ServerFigures;
  tracer: CallTracer | null;
}

const observers = new WeakMap<DuplexConnection, CallObserver>();

/**
 * Has Duplex's call middleware count and trace this connection's calls: set by the stock
 * handler, whose calls tRPC runs. The Duplex handler counts its own (and plain HTTP calls are
 * counted from their responses), so their connections have none.
 */
export function observeCalls(connection: DuplexConnection, observer: CallObserver): void {
  observers.set(connection, observer);
}

export function callObserverOf(connection: DuplexConnection): CallObserver | undefined {
  return observers.get(connection);
}
