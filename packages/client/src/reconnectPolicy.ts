/** Options of {@link createReconnectPolicy}. */
export interface ReconnectPolicyOptions {
  /**
   * The ceiling of the first reconnect delay; each further attempt doubles it.
   * @default 500
   */
  baseDelayMs?: number;
  /**
   * The largest ceiling.
   * @default 30_000
   */
  maxDelayMs?: number;
  /** Random source in [0, 1), for tests. @default Math.random */
  random?: () => number;
}

/** Defaults of {@link ReconnectPolicyOptions}. */
export const reconnectPolicyDefaults = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  random: Math.random,
} satisfies Required<ReconnectPolicyOptions>;

/** Computes reconnect delays. */
export interface ReconnectPolicy {
  /** The delay before reconnect attempt `attempt` (0-based). */
  delayMs(attempt: number): number;
}

/**
 * Exponential backoff with full jitter: the delay is uniform in [0, min(max, base · 2^attempt)),
 * so clients dropped together (a server restart) spread out instead of reconnecting in step.
 * @example
 * ```ts
 * const policy = createReconnectPolicy({ baseDelayMs: 250, maxDelayMs: 10_000 });
 * ```
 */
export function createReconnectPolicy(opts: ReconnectPolicyOptions = {}): ReconnectPolicy {
  const { baseDelayMs, maxDelayMs, random } = { ...reconnectPolicyDefaults, ...opts };
  return {
    delayMs(attempt) {
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt, 30));
      return Math.floor(random() * ceiling);
    },
  };
}
