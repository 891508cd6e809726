import type { AnyRouter } from '@trpc/server';
import type { WebSocketServer } from 'ws';
import type { Authenticate } from './auth';
import type { Broker } from './broker';
import type { ConnectionRegistry } from './connectionRegistry';
import type { DuplexErrorHandler } from './errorReport';
import type { KeepAlive } from './keepAlive';
import type { DuplexLimits } from './limits';
import type { DuplexMetrics } from './metrics';
import type { ServerFigures } from './serverFigures';
import type { CallTracer } from './tracing';
import type { UserBudgets } from './userBudgets';

/**
 * What `createDuplexServer` hands the WebSocket handler it picked (Duplex's own or the
 * stock one): everything either needs, already resolved from the server's options and defaults.
 */
export interface WsHandlerOptions<TRouter extends AnyRouter> {
  /** The app router. */
  router: TRouter;
  /** The `ws` server in `noServer` mode that accepted the sockets. */
  wss: WebSocketServer;
  /** Establishes each connection's user; see {@link Authenticate}. */
  authenticate: Authenticate<unknown>;
  /** Put on every connection's context for subscriptions to fan out through. */
  broker: Broker;
  /** The server's limits, defaults filled in. */
  limits: DuplexLimits;
  /** The server's live counters. */
  metrics: DuplexMetrics;
  /** Pings every socket and reaps dead peers. */
  keepAlive: KeepAlive;
  /**
   * How long before a token's `expiresAt` the connection is asked to reconnect.
   * @default 30_000 (set by `createDuplexServer`)
   */
  tokenRefreshLeadMs: number;
  /** Where unexpected errors go, with their context. */
  onError: DuplexErrorHandler;
  /** Per-user budgets, shared by every connection of the server. */
  userBudgets: UserBudgets;
  /** The server's live connections, as its inspector lists them. */
  registry: ConnectionRegistry;
  /** Closes, errors and procedure calls, as the inspector and `/metrics` report them. */
  figures: ServerFigures;
  /** Makes each call's span when the server has `tracing`; `null` without. */
  tracer: CallTracer | null;
}
