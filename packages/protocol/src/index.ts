/**
 * The parts of the Duplex wire contract that both the server and the client need.
 * Browser-safe and dependency-free, so a browser client installs no server code for it.
 */

/**
 * WebSocket close codes Duplex uses. Codes in 4000–4999 are Duplex's own; 1009 and 1012 are
 * the standard codes `ws` and Duplex send for those cases. Each is documented in
 * `docs/reference/errors.md`.
 */
export const closeCodes = {
  /** The payload was larger than `limits.maxPayloadBytes` (standard code, sent by `ws`). */
  payloadTooLarge: 1009,
  /** The server is shutting down or restarting; reconnect (standard code). */
  serviceRestart: 1012,
  /**
   * The first frame of a `?connectionParams=1` socket was not a valid `connectionParams` message
   * (not JSON, not an object, or a value that is not a string). A bug in the client: the Duplex
   * client retries with a long backoff, since its params are built afresh for every connect.
   */
  badConnectionParams: 4400,
  /** `authenticate` refused the connection. Fatal: the client stops retrying. */
  unauthorized: 4401,
  /** No `connectionParams` arrived within `limits.authTimeoutMs`. Retryable. */
  authTimeout: 4408,
  /**
   * The user already has `limits.maxConnectionsPerUser` WebSocket connections open. Retryable
   * with backoff: a slot frees when one of them closes.
   */
  tooManyConnections: 4409,
  /**
   * An operator closed the connection (`server.inspector.disconnect`, the admin dashboard).
   * Not fatal: the client reconnects with its normal backoff and its subscriptions resume.
   */
  operatorDisconnect: 4403,
  /** The token expired and the client did not reconnect with a fresh one in time. Retryable. */
  tokenExpired: 4410,
  /** The client sent frames or bytes faster than its connection's or its user's budget allows, well past the burst. Retryable with backoff. */
  rateLimited: 4429,
  /** The client read too slowly: more than `limits.maxBufferedBytes` waited in its send buffer. Retryable. */
  slowConsumer: 4507,
} as const;

/**
 * Sent by the server once `authenticate` accepted a connection, before any reply: the client
 * reports `open` only then. A tRPC notification (`id: null`) that stock tRPC clients ignore.
 */
export const readyNotification = '{"id":null,"method":"duplex.ready"}';

/** A Duplex close code. */
export type CloseCode = (typeof closeCodes)[keyof typeof closeCodes];

/** Close codes after which a client must not reconnect on its own. */
export const fatalCloseCodes: ReadonlySet<number> = new Set([closeCodes.unauthorized]);

/**
 * Delivered in a resumable stream instead of events that can no longer be replayed: the
 * `lastEventId` the client resumed from is older than the channel's retention (or from a log
 * that no longer exists). Some events were lost to this subscriber; the app should refetch its
 * state. The stream goes on with every event still retained (all newer than the cursor), then
 * live.
 */
export interface StreamGap {
  readonly duplex: 'gap';
  /** The event id the client asked to resume after. */
  readonly requestedEventId: string;
  /** The id just before the oldest retained event; the stream resumes after it. */
  readonly resumeEventId: string;
}

/**
 * Tells a {@link StreamGap} apart from an app event.
 * @example
 * ```ts
 * if (isGap(event.data)) await refetchHistory();
 * ```
 */
export function isGap(value: unknown): value is StreamGap {
  return (
    typeof value === 'object' && value !== null && (value as { duplex?: unknown }).duplex === 'gap'
  );
}

/**
 * The `connectionParams` key a client declares Duplex capabilities under, a comma-separated
 * list (e.g. `duplex: 'cursor'`). Reserved: the server reads it and removes it before
 * `authenticate` sees the params.
 */
export const capabilitiesParam = 'duplex';

/** The capability that asks for a {@link StreamCursor} at the start of live streams. */
export const cursorCapability = 'cursor';

/**
 * The first event of a stream subscribed without `lastEventId`, sent only to clients that
 * declared the {@link cursorCapability} (the Duplex client does): its tracked id is where the
 * stream starts, so a subscriber that has received no event yet still resumes without loss.
 * The Duplex client records it and never shows it to the app; stock tRPC clients, which did not
 * ask, never receive it.
 */
export interface StreamCursor {
  readonly duplex: 'cursor';
}

/** Tells a {@link StreamCursor} apart from an app event. */
export function isCursor(value: unknown): value is StreamCursor {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { duplex?: unknown }).duplex === 'cursor'
  );
}
