import { type DuplexErrorHandler, logErrorReport } from '@duplex/server';
import Redis from 'ioredis';
import { ConnectionHealth } from './connectionHealth';

/** Connection settings shared by the broker and presence. */
export interface RedisConnectionOptions {
  /**
   * The Redis server, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS, user and password in
   * the URL).
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * How long to keep trying to reach Redis at startup (refused attempts are retried meanwhile)
   * before giving up with an error.
   * @default 5_000
   */
  connectTimeoutMs?: number;
  /**
   * How long one Redis command may take before it fails (a hung server must not hang a publish).
   * @default 5_000
   */
  commandTimeoutMs?: number;
  /**
   * Reports losing and regaining Redis: once per outage, not per connection or retry (`lost`
   * when Redis drops the first of the broker's connections, `restored` once all are back).
   * @default console.warn
   */
  onConnectionChange?: (event: { state: 'lost' | 'restored'; error?: Error }) => void;
  /**
   * Receives failures of background work while Redis is up (a feed that cannot catch up, a
   * subscription that cannot start, a presence heartbeat), as `source: 'background'` reports
   * whose `task` starts with `redis.`. Pass the server's `onError`. Outages themselves go to
   * `onConnectionChange`.
   * @default logs with console.error
   */
  onError?: DuplexErrorHandler<never>;
}

/** Defaults of {@link RedisConnectionOptions}. */
export const redisConnectionDefaults = {
  url: 'redis://127.0.0.1:6379',
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 5_000,
  onConnectionChange: ({ state, error }: { state: 'lost' | 'restored'; error?: Error }) =>
    console.warn(
      state === 'lost'
        ? `[duplex] Redis connection lost (${error?.message ?? 'closed'}); retrying`
        : '[duplex] Redis connection restored',
    ),
  onError: logErrorReport,
} satisfies Required<RedisConnectionOptions>;

/** Reconnect delays: quick at first, then every 2 s for as long as Redis stays away. */
const retryDelayMs = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);
/** While starting, a Redis that comes up within `connectTimeoutMs` is met at most this late. */
const startupRetryMaxMs = 250;

/**
 * Opens one connection per role, at once. Each fails commands at once while Redis is away (no
 * offline queue: a publish must fail, not wait silently) and reconnects forever in the
 * background; their outages reach `onConnectionChange` once each, whichever connections they
 * drop (see {@link ConnectionHealth}). Resolves once every connection is ready, retrying refused
 * attempts meanwhile; rejects with a clear error if Redis can't be reached in
 * `connectTimeoutMs`.
 */
export async function openRedisConnections(
  opts: RedisConnectionOptions,
  roles: readonly string[],
): Promise<Redis[]> {
  const o = { ...redisConnectionDefaults, ...opts };
  const health = new ConnectionHealth(o.onConnectionChange);
  let started = false;
  const connections = roles.map((role) => {
    const redis = new Redis(o.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      commandTimeout: o.commandTimeoutMs,
      connectTimeout: o.connectTimeoutMs,
      retryStrategy: (attempt) =>
        started ? retryDelayMs(attempt) : Math.min(retryDelayMs(attempt), startupRetryMaxMs),
      connectionName: `duplex:${role}`,
    });
    /** Why the connection last failed, for the startup error and the outage report. */
    let lastError: Error | undefined;
    // Every socket error is followed by `close`: an outage is reported from `close` only, so
    // an `error` that doesn't drop the connection can't leave it marked down for good.
    redis.on('error', (error: Error) => {
      lastError = error;
    });
    redis.on('close', () => {
      if (started && !closing.has(redis)) health.down(role, lastError);
    });
    redis.on('ready', () => {
      lastError = undefined;
      if (started && !closing.has(redis)) health.up(role);
    });
    const ready = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    // connect() rejects on the first refused attempt, though retryStrategy goes on trying in
    // the background: what counts is `ready` within the deadline, and the rejection is the
    // reason the startup error names if it never comes.
    redis.connect().catch((error: Error) => {
      lastError ??= error;
    });
    return { role, redis, ready, lastError: () => lastError };
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(connections.map((c) => c.ready)),
      new Promise((_, reject) => {
        timer = setTimeout(reject, o.connectTimeoutMs);
      }),
    ]);
  } catch {
    for (const { redis } of connections) redis.disconnect();
    const cause =
      connections.map((c) => c.lastError()).find((error) => error !== undefined) ??
      new Error('timed out');
    throw new Error(
      `Duplex could not connect to Redis at ${redactUrl(o.url)} (${cause.message}). Is redis-server running?`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
  started = true;
  // One that was ready and dropped again while another was still connecting is down now.
  for (const { role, redis } of connections) {
    if (redis.status !== 'ready') health.down(role);
  }
  return connections.map((c) => c.redis);
}

const closing = new WeakSet<Redis>();

/** Closes a connection for good, without reporting it as lost. */
export async function closeRedisConnection(redis: Redis): Promise<void> {
  closing.add(redis);
  try {
    await redis.quit();
  } catch {
    // Redis is away or the connection broke: `disconnect()` below closes it either way.
  }
  redis.disconnect();
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}
