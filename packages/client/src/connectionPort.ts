import type { DuplexConnectionOptions } from './clientOptions';
import type { DuplexClientError } from './duplexClientError';
import type { SocketClient } from './socketClient';
import type { SocketTransformer } from './socketLink';

/** What Duplex's links and the client's direct calls use of a connection; not public API. */
export interface ConnectionPort {
  /** The socket side: requests, and whether a socket is ready. */
  readonly socket: SocketClient;
  /** superjson, reading each parsed frame in place. */
  readonly transformer: SocketTransformer;
  /** The options the connection was made with; the links read `resumeStore`, `maxCallRetries`. */
  readonly options: DuplexConnectionOptions;
  /** The HTTP endpoint of the fallback, if there is one. */
  readonly httpUrl: string | undefined;
  /** The token and extra params, fetched anew for every connection and every HTTP call. */
  connectionParams(): Promise<Record<string, string>>;
  /** Whether a socket is ready now, and how many have been so far. */
  socketState(): { open: boolean; opened: number };
  /** Why the connection stopped for good, or `null` while it runs. */
  terminalError(): DuplexClientError | null;
  /** Registers a callback run when the server refuses the credentials; returns the unregister. */
  onRefused(listener: () => void): () => void;
  /** The server refused the credentials: stop for good. */
  refuse(): void;
}
