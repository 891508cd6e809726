import { capabilitiesParam, closeCodes, cursorCapability, fatalCloseCodes } from '@duplex/protocol';
import { defaultWebSocket, webSocketWithTls } from '#websocket';
import { type DuplexConnectionOptions, duplexConnectionDefaults } from './clientOptions';
import type { ConnectionPort } from './connectionPort';
import { type DuplexStatus, type StatusStore, sameStatus } from './connectionStatus';
import { DuplexClientError } from './duplexClientError';
import { HttpLiveness } from './httpLiveness';
import { createBrowserOnlineManager, type OnlineManager } from './onlineManager';
import {
  createReconnectPolicy,
  type ReconnectPolicy,
  type ReconnectPolicyOptions,
} from './reconnectPolicy';
import { createSocketClient, type SocketClient } from './socketClient';
import { superjsonInPlace } from './socketLink';
import { ValueStore } from './subscribable';
import type { DuplexTransport, TransportStore } from './transportLink';
import { createUrlPicker, defaultHttpUrl } from './urlPicker';

/** Consecutive WebSocket attempts that never opened before the connection tries HTTP. */
const failuresBeforeFallback = 3;

/**
 * Close codes after which the next attempt waits as if several had failed already. 4400 (bad
 * `connectionParams`) is among them rather than fatal: the params are built afresh for every
 * connect (a token provider can recover), and it is not a refusal of the user's credentials.
 */
const penalizedCloseCodes: ReadonlySet<number> = new Set([
  closeCodes.badConnectionParams,
  closeCodes.rateLimited,
  closeCodes.slowConsumer,
  closeCodes.authTimeout,
  // The user's other sockets hold every slot: retrying fast only spins until one closes.
  closeCodes.tooManyConnections,
]);
const penaltyAttempt = 4;

let portOf: (connection: DuplexClientConnection) => ConnectionPort;

/**
 * One managed connection to a Duplex server, the way tRPC's `createWSClient` is one socket for
 * its `wsLink`: it owns the WebSocket (or the HTTP fallback), reconnects with backoff and
 * jitter, pauses while offline, fetches a fresh token for every connect, probes HTTP when the
 * socket cannot open, and stops for good when the server refuses the credentials or on
 * {@link DuplexClientConnection.close}. Make it with {@link createDuplexConnection}; send over it
 * with {@link duplexLinks}.
 */
export class DuplexClientConnection implements AsyncDisposable {
  /** The connection status: read it, or subscribe to its changes. */
  readonly status: StatusStore;
  /** The transport in use: `'websocket'`, or `'http'` after a fallback. */
  readonly transport: TransportStore;

  /** The options it was made with (token, params, …). */
  readonly #opts: DuplexConnectionOptions;
  /** `'auto'`, or the one transport it may use. */
  readonly #mode: 'auto' | DuplexTransport;
  /** The fallback's HTTP endpoint; without one the connection never falls back. */
  readonly #httpUrl: string | undefined;
  /** The backoff between attempts. */
  readonly #policy: ReconnectPolicy;
  /** Network signals: no attempts while offline. */
  readonly #online: OnlineManager;
  /** The URL of each attempt, in turn. */
  readonly #pickUrl: () => Promise<string>;
  /** Behind {@link DuplexClientConnection.status}, derived by `#refreshStatus`. */
  readonly #status = new ValueStore<DuplexStatus>({ state: 'connecting' }, sameStatus);
  /** Behind {@link DuplexClientConnection.transport}. */
  readonly #transport: ValueStore<DuplexTransport>;
  /** The WebSocket side: sockets, requests, moves. */
  readonly #socket: SocketClient;
  /** Stops listening to the online manager (once terminal). */
  readonly #stopOnline: () => void;
  /** Run once the server refuses the credentials: subscriptions end with the reason. */
  readonly #refusedListeners = new Set<() => void>();
  /** What Duplex's links and the direct calls use; see {@link connectionPort}. */
  readonly #port: ConnectionPort;
  /** Connection attempts started, the first one included. */
  #connects = 0;
  /** Reconnect attempts since a socket was last ready; the backoff grows with it. */
  #attempt = 0;
  /** Consecutive attempts that never became ready; enough of them and HTTP is probed. */
  #failedAttempts = 0;
  /** Sockets ready now (two while subscriptions move to a new one). */
  #openSockets = 0;
  /** Sockets that have become ready so far. */
  #socketsOpened = 0;
  /** When the next attempt starts (epoch ms), while waiting out the backoff. */
  #nextRetryAt: number | null = null;
  /** The close code of the last socket that had been ready. */
  #lastCloseCode: number | null = null;
  /** An HTTP probe is under way. */
  #probing = false;
  /** Probes the server while on HTTP (no socket keepalive there); `null` without keepalive. */
  readonly #liveness: HttpLiveness | null;
  /** Why the connection stopped for good, or `null` while it runs. */
  #terminal: DuplexClientError | null = null;
  /** Ends the current backoff or offline wait early. */
  #wake: (() => void) | null = null;

  // The links reach the internals through `portOf`, so they stay off the public type.
  static {
    portOf = (connection) => {
      if (!(typeof connection === 'object' && connection !== null && #port in connection))
        throw new TypeError('Duplex: `connection` must come from createDuplexConnection()');
      return connection.#port;
    };
  }

  constructor(opts: DuplexConnectionOptions) {
    if (opts.tls && opts.WebSocket) throw new Error('Pass `tls` or `WebSocket`, not both');
    const BaseSocket = opts.tls ? webSocketWithTls(opts.tls) : (opts.WebSocket ?? defaultWebSocket);
    if (!BaseSocket)
      throw new Error('No WebSocket implementation: pass `WebSocket` in the options');
    this.#opts = opts;
    this.#pickUrl = createUrlPicker(opts.url);
    this.#policy =
      opts.reconnect && 'delayMs' in opts.reconnect
        ? opts.reconnect
        : createReconnectPolicy(opts.reconnect as ReconnectPolicyOptions | undefined);
    this.#online = opts.onlineManager ?? createBrowserOnlineManager();
    this.#mode = opts.transport ?? 'auto';
    this.#httpUrl = opts.httpUrl ?? defaultHttpUrl(opts.url);
    if (this.#mode === 'http' && !this.#httpUrl)
      throw new Error("transport 'http' needs `httpUrl` with a `url` function");
    this.#transport = new ValueStore<DuplexTransport>(this.#mode === 'http' ? 'http' : 'websocket');
    this.status = { get: this.#status.get, subscribe: this.#status.subscribe };
    this.transport = { get: this.#transport.get, subscribe: this.#transport.subscribe };
    this.#stopOnline = this.#online.subscribe((isOnline) => {
      this.#refreshStatus();
      if (isOnline) this.#wake?.();
    });
    const keepAlive =
      opts.keepAlive === false
        ? null
        : { ...duplexConnectionDefaults.keepAlive, ...opts.keepAlive };
    this.#socket = createSocketClient({
      // Backoff happens in `#nextUrl`, where going online can cut it short.
      url: () => this.#nextUrl(),
      connectionParams: () => this.#connectionParams(),
      keepAlive,
      // HTTP only: the socket is never needed, so it never opens.
      lazy: this.#mode === 'http',
      WebSocket: BaseSocket,
      onReady: () => this.#onReady(),
      onClosed: (code, wasReady) => this.#onClosed(code, wasReady),
    });
    this.#liveness =
      keepAlive && this.#httpUrl
        ? new HttpLiveness({
            url: this.#httpUrl,
            intervalMs: keepAlive.intervalMs,
            timeoutMs: keepAlive.pongTimeoutMs,
            onChange: () => this.#refreshStatus(),
          })
        : null;
    this.#transport.subscribe((transport) => {
      // A fallback follows a probe that the server answered: it is alive now.
      if (transport === 'http') this.#liveness?.start(true);
      else this.#liveness?.stop();
    });
    this.#port = {
      socket: this.#socket,
      transformer: superjsonInPlace,
      options: opts,
      httpUrl: this.#httpUrl,
      connectionParams: () => this.#connectionParams(),
      socketState: () => ({ open: this.#openSockets > 0, opened: this.#socketsOpened }),
      terminalError: () => this.#terminal,
      onRefused: (listener) => {
        this.#refusedListeners.add(listener);
        return () => this.#refusedListeners.delete(listener);
      },
      refuse: () => this.#refuse(),
    };
    // HTTP only: open once the server answers (there is no socket to wait for).
    if (this.#mode === 'http') {
      this.#liveness?.start();
      this.#refreshStatus();
    }
  }

  /** Closes the connection for good: subscriptions complete, pending calls fail with `CLOSED`. */
  close(): Promise<void> {
    return this.#stop(new DuplexClientError('CLOSED', 'The client was closed'), 'closed');
  }

  /** {@link DuplexClientConnection.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The one rule for a refusal, whether a socket closed with 4401 or an HTTP call was refused. */
  #refuse(): void {
    void this.#stop(
      new DuplexClientError('UNAUTHORIZED', 'The server refused the credentials'),
      'unauthorized',
    );
  }

  async #stop(error: DuplexClientError, state: 'unauthorized' | 'closed'): Promise<void> {
    if (this.#terminal) return;
    this.#terminal = error;
    this.#status.set({ state });
    this.#stopOnline();
    this.#liveness?.stop();
    this.#wake?.();
    if (state === 'unauthorized') for (const listener of this.#refusedListeners) listener();
    this.#socket.close(error);
  }

  /** Derives the status from the fields above; only changes are published. */
  #refreshStatus(): void {
    if (this.#terminal) return;
    const onHttp = this.#openSockets === 0 && this.#transport.get() === 'http';
    // Without keepalive there is no probe: HTTP counts as open, as it did before probes.
    const httpAlive = this.#liveness ? this.#liveness.alive : true;
    const next: DuplexStatus =
      this.#openSockets > 0 || (onHttp && httpAlive === true)
        ? { state: 'open', transport: this.#openSockets > 0 ? 'websocket' : 'http' }
        : !this.#online.isOnline()
          ? { state: 'offline' }
          : this.#connects <= 1 && this.#lastCloseCode === null && !(onHttp && httpAlive === false)
            ? { state: 'connecting' }
            : {
                state: 'reconnecting',
                attempt: this.#attempt,
                nextRetryAt: this.#nextRetryAt,
                closeCode: this.#lastCloseCode,
              };
    this.#status.set(next);
  }

  #wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = ms === Number.POSITIVE_INFINITY ? undefined : setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Runs before every connection attempt: backoff, offline pause, and stop once terminal. */
  async #nextUrl(): Promise<string> {
    const reconnecting = this.#connects++ > 0;
    let wasOffline = false;
    while (!this.#online.isOnline() && !this.#terminal) {
      wasOffline = true;
      this.#refreshStatus();
      await this.#wait(Number.POSITIVE_INFINITY);
    }
    // Coming back online is the moment to retry, whatever the backoff said.
    if (reconnecting && !wasOffline && !this.#terminal) {
      const delay = this.#policy.delayMs(this.#attempt);
      this.#nextRetryAt = Date.now() + delay;
      this.#refreshStatus();
      await this.#wait(delay);
      this.#attempt++;
    }
    if (this.#terminal) throw this.#terminal;
    this.#nextRetryAt = null;
    this.#refreshStatus();
    return this.#pickUrl();
  }

  async #connectionParams(): Promise<Record<string, string>> {
    const { token: source } = this.#opts;
    const token = typeof source === 'function' ? await source() : source;
    const extra = (await this.#opts.connectionParams?.()) ?? {};
    // Asks for the stream cursor, which the Duplex link records and keeps from the app.
    const params = { ...extra, [capabilitiesParam]: cursorCapability };
    return token == null ? params : { ...params, token };
  }

  #onReady(): void {
    this.#openSockets++;
    this.#socketsOpened++;
    this.#attempt = 0;
    this.#failedAttempts = 0;
    // The socket works (again): everything moves back to it.
    if (this.#mode === 'auto') this.#transport.set('websocket');
    this.#refreshStatus();
  }

  #onClosed(code: number, wasReady: boolean): void {
    if (wasReady) {
      this.#openSockets--;
      this.#lastCloseCode = code;
    } else {
      this.#failedAttempts++;
    }
    if (fatalCloseCodes.has(code)) {
      this.#refuse();
      return;
    }
    if (penalizedCloseCodes.has(code)) this.#attempt = Math.max(this.#attempt, penaltyAttempt);
    this.#maybeFallBack();
    this.#refreshStatus();
  }

  /** After repeated failures: HTTP answering means the socket is blocked, not the server down. */
  #maybeFallBack(): void {
    if (this.#mode !== 'auto' || !this.#httpUrl || this.#transport.get() === 'http') return;
    if (this.#probing || this.#terminal || this.#failedAttempts < failuresBeforeFallback) return;
    this.#probing = true;
    fetch(this.#httpUrl, { method: 'GET' }).then(
      () => {
        this.#probing = false;
        if (!this.#terminal && this.#openSockets === 0) {
          this.#transport.set('http');
          this.#refreshStatus();
        }
      },
      () => {
        this.#probing = false;
      },
    );
  }
}

/**
 * Opens a managed connection to a Duplex server, for {@link duplexLinks} in a tRPC client you
 * compose yourself. It takes the options of {@link createDuplexClient} and starts connecting at
 * once (with `transport: 'http'`, never).
 * @example
 * ```ts
 * const connection = createDuplexConnection({ url: 'ws://localhost:3000/trpc', token: getToken });
 * const client = createTRPCClient<AppRouter>({
 *   links: [loggerLink(), ...duplexLinks<AppRouter>({ connection })],
 * });
 * connection.status.subscribe((status) => console.log(status.state));
 * await connection.close();
 * ```
 */
export function createDuplexConnection(opts: DuplexConnectionOptions): DuplexClientConnection {
  return new DuplexClientConnection(opts);
}

/** The internals Duplex's own links use; throws for anything but a {@link DuplexClientConnection}. */
export function connectionPort(connection: DuplexClientConnection): ConnectionPort {
  return portOf(connection);
}
