import { createDuplexClient, DuplexClientError, idempotent } from '@duplex/client';
import type { AppRouter } from '@duplex/example-chat/router';
import type { NotifyInput, NotifyResult } from '@duplex/notifications';

/** Options of {@link sendNotification}. */
export interface SendNotificationOptions {
  /** The chat server's tRPC endpoint, e.g. `ws://127.0.0.1:3000/trpc`. */
  url: string;
  /** The operator token; sent as `admin:<token>`. */
  token: string;
  /** Where the token came from, named when the server refuses it. */
  tokenSource?: string;
  /**
   * How long to keep trying to connect before giving up.
   * @default 5_000
   */
  timeoutMs?: number;
  input: NotifyInput;
}

/** A failure the CLI prints as is and exits 1 on. */
export class NotifyCliError extends Error {
  override name = 'NotifyCliError';
}

/**
 * Sends one `notifications.notify` through the typed client, as the operator. Connecting is
 * bounded by `timeoutMs`; the call itself is not, since a notify to 10,000 users takes a while.
 * @example
 * ```ts
 * const { created, pushed } = await sendNotification({
 *   url: 'ws://127.0.0.1:3000/trpc',
 *   token,
 *   input: { to: ['ada', 'grace'], category: 'system', title: 'Deploy at 5' },
 * });
 * ```
 */
export async function sendNotification(opts: SendNotificationOptions): Promise<NotifyResult> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const client = createDuplexClient<AppRouter>({
    url: opts.url,
    token: `admin:${opts.token}`,
    // A CLI waits seconds, not the 30 s a browser tab may back off to.
    reconnect: { baseDelayMs: 100, maxDelayMs: 1_000 },
    keepAlive: false,
  });
  let timer: NodeJS.Timeout | undefined;
  let stopWatching = () => {};
  const givenUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new NotifyCliError(
          `Cannot reach the server at ${opts.url} (tried for ${timeoutMs / 1_000} s). ` +
            'Is the chat server running (npm start)?',
        ),
      );
    }, timeoutMs);
    const watch = () => {
      if (client.$status.get().state === 'open') clearTimeout(timer);
    };
    stopWatching = client.$status.subscribe(watch);
    watch();
  });
  givenUp.catch(() => {});
  try {
    return await Promise.race([
      // With a dedupe key a re-sent notify is a no-op, so a dropped connection may retry it.
      client.notifications.notify.mutate(opts.input, opts.input.dedupeKey ? idempotent : {}),
      givenUp,
    ]);
  } catch (error) {
    // A refused token closes the socket with 4401; the pending call can fail (as a lost
    // connection) a moment before the client's status turns `unauthorized`.
    if (error instanceof DuplexClientError && error.code === 'CONNECTION_LOST') {
      for (let waited = 0; waited < 500; waited += 10) {
        const { state } = client.$status.get();
        if (state === 'unauthorized' || state === 'reconnecting') break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const refused = client.$status.get().state === 'unauthorized';
    throw explain(refused ? new DuplexClientError('UNAUTHORIZED', 'refused') : error, opts);
  } finally {
    clearTimeout(timer);
    stopWatching();
    await client.$close();
  }
}

function explain(error: unknown, opts: SendNotificationOptions): Error {
  if (error instanceof NotifyCliError || !(error instanceof DuplexClientError)) {
    return error as Error;
  }
  switch (error.code) {
    case 'UNAUTHORIZED':
      return new NotifyCliError(
        `Unauthorized: the server refused the operator token${
          opts.tokenSource ? ` from ${opts.tokenSource}` : ''
        }. The chat server writes a new one each time it starts; pass the current one with --token.`,
      );
    case 'FORBIDDEN':
      return new NotifyCliError(`Forbidden: ${error.message}`);
    case 'BAD_REQUEST':
    case 'PAYLOAD_TOO_LARGE':
      return new NotifyCliError(error.message);
    case 'CONNECTION_LOST':
      return new NotifyCliError(
        'The connection dropped before the server answered; the notification may or may not ' +
          'have been sent (pass --dedupe-key to make a retry safe).',
      );
    default:
      return new NotifyCliError(`${error.code}: ${error.message}`);
  }
}
