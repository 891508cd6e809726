import type { TRPCRequestOptions } from '@trpc/client';
import type { OnlineManager } from './onlineManager';
import type { ReconnectPolicy, ReconnectPolicyOptions } from './reconnectPolicy';
import type { ResumeStore } from './resumeStore';
import type { WebSocketClass } from './socketConnection';
import type { DuplexTransport } from './transportLink';
import type { DuplexUrl } from './urlPicker';

/**
 * Call options marking a mutation as safe to send again if the connection drops before its
 * answer (it carries an idempotency key, say). Queries are always re-sent.
 * @example
 * ```ts
 * await client.chat.send.mutate({ roomId, clientMsgId, text }, idempotent);
 * ```
 */
export const idempotent = { context: { idempotent: true } } as const satisfies TRPCRequestOptions;

/** Extra trust for `wss://` in Node, e.g. a development certificate's CA. Browsers ignore it. */
export interface ClientTlsOptions {
  /** Certificate authorities to trust (PEM), in place of Node's bundled ones. */
  ca: string | Uint8Array | (string | Uint8Array)[];
}

/** A token, or a function called for a fresh one on every (re)connect. */
export type TokenSource =
  | string
  | null
  | (() => string | null | undefined | Promise<string | null | undefined>);

/**
 * Options of {@link createDuplexConnection}, and so of {@link createDuplexClient}, which takes the
 * same. `resumeStore` and `maxCallRetries` are read by the links ({@link duplexLinks}).
 */
export interface DuplexConnectionOptions {
  /**
   * The server's tRPC endpoint, e.g. `ws://localhost:3000/trpc` (`http(s)` is turned into
   * `ws(s)`). Behind several nodes, list them (`['ws://a:3000/trpc', 'ws://b:3000/trpc']`):
   * the client stays on one while it works and moves to the next each time it reconnects. Or
   * pass a function called before every attempt (service discovery, a load-balancing rule).
   */
  url: DuplexUrl;
  /** Sent as `connectionParams.token` on every (re)connect. */
  token?: TokenSource;
  /** Extra `connectionParams` for `authenticate`. The key `duplex` is reserved for the client. */
  connectionParams?: () => Record<string, string> | Promise<Record<string, string>>;
  /**
   * Reconnect backoff: options for the default full-jitter policy, or your own policy.
   * @default { baseDelayMs: 500, maxDelayMs: 30_000 }
   */
  reconnect?: ReconnectPolicyOptions | ReconnectPolicy;
  /**
   * Network signals: pause reconnecting while offline, reconnect at once when back online.
   * @default browser `online`/`offline` events; always online in Node
   */
  onlineManager?: OnlineManager;
  /**
   * Client-side keepalive: a `PING` after this much silence, and the socket is dropped (and
   * reconnected) if no `PONG` follows within `pongTimeoutMs`. On the HTTP fallback the same
   * timings drive a liveness probe (a `GET` on `httpUrl`): the status is `reconnecting` while it
   * fails. `false` turns both off.
   * @default { intervalMs: 15_000, pongTimeoutMs: 5_000 }
   */
  keepAlive?: { intervalMs?: number; pongTimeoutMs?: number } | false;
  /** Persists subscription cursors, e.g. {@link localStorageResumeStore}, so reloads resume too. */
  resumeStore?: ResumeStore;
  /**
   * How many times a query (or a mutation marked `idempotent`) is re-sent after the connection
   * drops before its answer.
   * @default 3
   */
  maxCallRetries?: number;
  /** A `WebSocket` class; by default the browser's, or `ws` in Node. */
  WebSocket?: WebSocketClass;
  /**
   * Node only: TLS trust for `wss://` URLs, e.g. `{ ca: readFileSync('dev-ca.pem') }` for a
   * self-signed development certificate. Browsers use the certificates they trust.
   */
  tls?: ClientTlsOptions;
  /**
   * `'auto'` uses the WebSocket and falls back to HTTP (calls over tRPC HTTP, subscriptions over
   * server-sent events) when the socket cannot be opened but the server answers plain HTTP, as
   * behind a proxy that strips the upgrade; it keeps trying the WebSocket and moves back to it.
   * `'websocket'` never falls back; `'http'` never opens a socket.
   * @default 'auto'
   */
  transport?: 'auto' | DuplexTransport;
  /**
   * The server's HTTP endpoint for the fallback, e.g. `https://example.com/trpc`. By default
   * the (first) `url` with `ws:`/`wss:` turned into `http:`/`https:`; a `url` function has no
   * default, and without `httpUrl` the client does not fall back.
   */
  httpUrl?: string;
}

/** Options of {@link createDuplexClient}: those of a connection. */
export type DuplexClientOptions = DuplexConnectionOptions;

/** Defaults of {@link DuplexConnectionOptions}. */
export const duplexConnectionDefaults = {
  keepAlive: { intervalMs: 15_000, pongTimeoutMs: 5_000 },
  maxCallRetries: 3,
};

/** Defaults of {@link DuplexClientOptions}: those of a connection. */
export const duplexClientDefaults = duplexConnectionDefaults;
