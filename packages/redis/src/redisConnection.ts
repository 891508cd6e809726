import Redis from 'ioredis';

/** Connection settings shared by the broker and presence. */
export interface RedisConnectionOptions {
  /**
   * The Redis server, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS, user and password in
   * the URL).
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * How long to wait for Redis at startup before giving up with an error.
   * @default 5_000
   */
  connectTimeoutMs?: number;
  /**
   * How long one Redis command may take before it fails (a hung server must not hang a publish).
   * @default 5_000
   */
  commandTimeoutMs?: number;
  /**
   * Reports losing and regaining Redis (once per outage, not per retry).
   * @default console.warn
   */
  onConnectionChange?: (event: { state: 'lost' | 'restored'; error?: Error }) => void;
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
} satisfies Required<RedisConnectionOptions>;

/** Reconnect delays: quick at first, then every 2 s for as long as Redis stays away. */
const retryDelayMs = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);

/**
 * Opens a connection that fails commands at once while Redis is away (no offline queue: a
 * publish must fail, not wait silently) and reconnects forever in the background.
 * Resolves once connected; rejects with a clear error if Redis can't be reached in time.
 */
export async function openRedisConnection(
  opts: RedisConnectionOptions,
  role: string,
): Promise<Redis> {
  const o = { ...redisConnectionDefaults, ...opts };
  const redis = new Redis(o.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    retryStrategy: retryDelayMs,
    connectionName: `duplex:${role}`,
  });
  let up = false;
  let started = false;
  const report = (event: { state: 'lost' | 'restored'; error?: Error }) => {
    if (!closing.has(redis)) o.onConnectionChange(event);
  };
  redis.on('error', (error: Error) => {
    if (up && started) {
      up = false;
      report({ state: 'lost', error });
    }
  });
  redis.on('close', () => {
    if (up && started) {
      up = false;
      report({ state: 'lost' });
    }
  });
  redis.on('ready', () => {
    if (!up && started) report({ state: 'restored' });
    up = true;
  });
  const timeout = AbortSignal.timeout(o.connectTimeoutMs);
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) =>
        timeout.addEventListener('abort', () => reject(new Error('timed out')), { once: true }),
      ),
    ]);
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `Duplex could not connect to Redis at ${redactUrl(o.url)} (${(error as Error).message}). Is redis-server running?`,
      { cause: error },
    );
  }
  started = true;
  up = true;
  return redis;
}

const closing = new WeakSet<Redis>();

/** Closes a connection for good, without reporting it as lost. */
export async function closeRedisConnection(redis: Redis): Promise<void> {
  closing.add(redis);
  await redis.quit().catch(() => {});
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
