import type { IncomingMessage } from 'node:http';

/** What {@link Authenticate} receives. */
export interface AuthenticateOptions {
  /** The HTTP request: the WebSocket upgrade, or the plain HTTP call. Cookies and headers live here. */
  req: IncomingMessage;
  /**
   * tRPC `connectionParams` sent by the client (where Duplex clients put `token`), if any,
   * without the reserved `duplex` key (the client's capabilities, see `ctx.connection`).
   */
  connectionParams: Record<string, string | undefined> | null;
  transport: 'ws' | 'http';
}

/** A successful authentication. */
export interface AuthResult<TUser> {
  user: TUser;
  /**
   * When the credential expires (epoch ms or a Date). Before then the server asks this one
   * connection to reconnect, and the client reconnects with a fresh token, keeping its
   * subscriptions; a connection still on the old token at expiry is closed with 4410.
   */
  expiresAt?: number | Date;
}

/**
 * Establishes who is connecting. Return `null` (or throw) to refuse: a WebSocket is closed with
 * 4401 and the client stops retrying; an HTTP call gets 401. Never reached for refused origins.
 * @example
 * ```ts
 * const authenticate: Authenticate<User> = async ({ connectionParams }) => {
 *   const session = await sessions.verify(connectionParams?.token);
 *   return session ? { user: session.user, expiresAt: session.expiresAt } : null;
 * };
 * ```
 */
export type Authenticate<TUser> = (
  opts: AuthenticateOptions,
) => AuthResult<TUser> | null | undefined | Promise<AuthResult<TUser> | null | undefined>;

/** Which browser origins may open a socket: a list of origins, or a predicate. */
export type AllowedOrigins = readonly string[] | ((origin: string) => boolean);

/**
 * Whether an upgrade request's `Origin` is allowed. Requests without `Origin` (Node clients,
 * CLIs) pass: the check exists against cross-site WebSocket hijacking, which needs a browser.
 * With no allow-list, only same-origin browser pages pass.
 */
export function isOriginAllowed(
  req: IncomingMessage,
  allowed: AllowedOrigins | undefined,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (typeof allowed === 'function') return allowed(origin);
  if (allowed) return allowed.includes(origin);
  const host = req.headers.host;
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The cause of the `UNAUTHORIZED` a plain HTTP call gets when `authenticate` refuses it, told
 * apart from an `UNAUTHORIZED` a procedure throws: the error's `data.authRefused` is `true`,
 * and the Duplex client stops retrying, as on a WebSocket closed with 4401.
 */
export class AuthRefusedError extends Error {
  constructor() {
    super('Authentication refused');
    this.name = 'AuthRefusedError';
  }
}

/**
 * The cause of the `UNAUTHORIZED` that ends an HTTP event stream when its token expires: the
 * error's `data.tokenExpired` is `true`, and the Duplex client starts the stream again with a
 * fresh token, resuming after its last event id.
 */
export class TokenExpiredError extends Error {
  constructor() {
    super('Token expired');
    this.name = 'TokenExpiredError';
  }
}

/**
 * Runs `authenticate` once for a connection or request: its result, or `null` after passing the
 * failure to `onFailure` when it rejects or throws. A promise executor, so that an `authenticate`
 * that throws synchronously is refused and reported like one that rejects, rather than escaping
 * into the caller (an unhandled rejection ends a Node process).
 */
export function runAuthenticate<TUser>(
  authenticate: Authenticate<TUser>,
  opts: AuthenticateOptions,
  onFailure: (cause: unknown) => void,
): Promise<AuthResult<TUser> | null> {
  return new Promise<AuthResult<TUser> | null | undefined>((resolve) =>
    resolve(authenticate(opts)),
  ).then(
    (result) => result ?? null,
    (cause: unknown) => {
      onFailure(cause);
      return null;
    },
  );
}
