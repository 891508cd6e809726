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
   * a batch costs one per call, and frames that are not calls (raw garbage, pings) cost too; the
   * `connectionParams` handshake costs none.
   * @default 50
   */
  callsPerSecond: number;
  /**
   * Bucket size: calls a connection may make at once before `callsPerSecond` applies. Frames
   * beyond it wait for the refill, in order, while the line stays within one more burst (200
   * calls queued at once are all served); frames past that fail with `TOO_MANY_REQUESTS` and
   * take their cost as debt. More than `burstCalls` into debt, the socket is closed with 4429.
   * @default 100
   */
  burstCalls: number;
  /**
   * Bytes of incoming WebSocket frames per second per connection (token bucket refill): what a
   * frame costs to read and parse is its size, which a call count does not see (1 MB arrays at
   * 40 frames/s stayed under the call limit and raised everyone's p50 to 344 ms).
   * @default 1_048_576 (1 MiB)
   */
  bytesPerSecond: number;
  /**
   * Byte bucket size per connection: bytes a connection may send at once before `bytesPerSecond`
   * applies. At least one `maxPayloadBytes` frame always fits (a bigger cost waits for a full
   * bucket).
   * @default 4_194_304 (4 MiB)
   */
  burstBytes: number;
  /**
   * Sustained calls per second per user, all of the user's WebSocket connections together (by
   * the `id` of the user `authenticate` returns; users without one have no per-user budgets).
   * The bucket lives on the server, not the connection, so a reconnect never refills it.
   * @default 100
   */
  userCallsPerSecond: number;
  /**
   * Per-user call bucket size. A connection whose user is more than this many calls in debt is
   * closed with 4429, and a new connection of that user is closed with 4429 as it authenticates.
   * @default 200
   */
  userBurstCalls: number;
  /**
   * Bytes of incoming WebSocket frames per second per user, all connections together.
   * @default 2_097_152 (2 MiB)
   */
  userBytesPerSecond: number;
  /**
   * Per-user byte bucket size.
   * @default 8_388_608 (8 MiB)
   */
  userBurstBytes: number;
  /**
   * Open WebSocket connections per user (by user `id`). One more is refused as it authenticates:
   * an `id: null` `TOO_MANY_REQUESTS` error, then close code 4409. Many tabs fit; one account
   * taking every one of `maxConnections` does not.
   * @default 32
   */
  maxConnectionsPerUser: number;
  /**
   * Queries and mutations of one user running at once, all connections together. More wait in
   * line, in arrival order; once `userBurstCalls` calls wait, more fail with
   * `TOO_MANY_REQUESTS`. Bounds what one account's slow calls take from everyone. (The stock
   * handler holds and refuses whole frames: tRPC runs a frame's calls together.)
   * @default 32
   */
  maxCallsInFlightPerUser: number;
  /**
   * Nesting depth of `[` and `{` in one incoming JSON frame, checked by a linear scan before the
   * frame is parsed. tRPC messages nest a few levels plus the input's own depth; a deeper frame
   * is refused with `PARSE_ERROR` (`id: null`: its ids are not read). A 200 KB frame 100,000
   * levels deep, 20 times a second, stalled every user for 1.6 s before this limit.
   * @default 64
   */
  maxJsonDepth: number;
  /**
   * Calls in one batched frame. The stock tRPC client sends every call made in one tick as
   * one batch, so this matches the burst. A bigger batch is refused unrun (`BAD_REQUEST` for
   * each call) and costs one call, not one per call it carries.
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
  bytesPerSecond: 1_048_576,
  burstBytes: 4_194_304,
  userCallsPerSecond: 100,
  userBurstCalls: 200,
  userBytesPerSecond: 2_097_152,
  userBurstBytes: 8_388_608,
  maxConnectionsPerUser: 32,
  maxCallsInFlightPerUser: 32,
  maxJsonDepth: 64,
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
