/**
 * Resource limits of a Duplex server. Every limit has a safe default, is documented in
 * `docs/reference/limits.md`, and is enforced per connection unless it says otherwise.
 */
export interface DuplexLimits {
  /**
   * Largest WebSocket frame or HTTP request body accepted. A bigger frame closes the socket with
   * 1009; a bigger HTTP body gets 413.
   * @default 1_048_576 (1 MiB)
   */
  maxPayloadBytes: number;
  /**
   * Sustained calls per second per connection (token bucket). Every frame costs one token,
   * a batch costs one per call, and frames that are not calls (raw garbage, pings) cost too.
   * @default 50
   */
  callsPerSecond: number;
  /**
   * Bucket size: calls a connection may make at once before `callsPerSecond` applies. Calls
   * beyond it fail with `TOO_MANY_REQUESTS`; a client that keeps sending after that, more than
   * another `burstCalls` into debt, is disconnected with close code 4429.
   * @default 100
   */
  burstCalls: number;
  /**
   * Calls in one batched frame. The stock tRPC client sends every call made in one tick as
   * one batch, so this matches the burst: more calls at once would be rate limited anyway.
   * @default 100
   */
  maxBatchSize: number;
  /**
   * Characters in a string request id (tRPC ids are numbers or strings). The id is echoed in
   * every reply and kept while its subscription runs, so its length is what each costs. A frame
   * holding a longer id runs none of its calls: its other calls get `PARSE_ERROR` under their
   * ids, and the connection an `id: null` `BAD_REQUEST` (the id itself cannot be echoed).
   * @default 128
   */
  maxRequestIdLength: number;
  /**
   * Bytes of encoded subscription events the Duplex handler keeps to serve the next subscriber
   * of the same event without encoding it again, per server. The oldest go first.
   * @default 8_388_608 (8 MiB)
   */
  maxEventCacheBytes: number;
  /**
   * Open subscriptions per connection; more fail with `TOO_MANY_REQUESTS`.
   * @default 100
   */
  maxSubscriptionsPerConnection: number;
  /**
   * Bytes waiting in one socket's send buffer before the peer counts as a slow consumer and is
   * disconnected with close code 4507. Bounds server memory per connection.
   * @default 4_194_304 (4 MiB)
   */
  maxBufferedBytes: number;
  /**
   * Time a new WebSocket has to send its `connectionParams` before it is closed with 4408.
   * @default 10_000
   */
  authTimeoutMs: number;
  /**
   * Open WebSocket connections per server; more are refused with HTTP 503 at the upgrade.
   * @default 10_000
   */
  maxConnections: number;
  /**
   * Open sockets per server that are not WebSocket connections: plain HTTP calls, event streams
   * (SSE), static files, idle keep-alive sockets and upgrades still in their handshake. A socket
   * accepted beyond it is destroyed at once, before it is read; clients already connected keep
   * being served. Bounds the file descriptors HTTP clients can hold. Not applied when Duplex is
   * attached to your server.
   * @default 4_096
   */
  maxHttpConnections: number;
  /**
   * Open sockets per client address, WebSocket and HTTP together. A socket accepted beyond it is
   * destroyed at once. Behind a reverse proxy every client has the proxy's address: raise it to
   * `maxConnections + maxHttpConnections` there (or `Infinity`), and cap per client at the proxy.
   * Not applied when Duplex is attached to your server.
   * @default 1_024
   */
  maxConnectionsPerIp: number;
  /**
   * HTTP requests pipelined on one socket whose responses are not finished yet (not read by the
   * peer). The request beyond it destroys the socket. Browsers do not pipeline; a peer that sends
   * many requests and never reads the answers would otherwise have them all buffered. Not applied
   * when Duplex is attached to your server.
   * @default 16
   */
  maxPipelinedRequests: number;
}

/** Defaults of {@link DuplexLimits}. */
export const limitsDefaults: DuplexLimits = {
  maxPayloadBytes: 1_048_576,
  callsPerSecond: 50,
  burstCalls: 100,
  maxBatchSize: 100,
  maxRequestIdLength: 128,
  maxEventCacheBytes: 8_388_608,
  maxSubscriptionsPerConnection: 100,
  maxBufferedBytes: 4_194_304,
  authTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxHttpConnections: 4_096,
  maxConnectionsPerIp: 1_024,
  maxPipelinedRequests: 16,
};
