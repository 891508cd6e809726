/** Options of {@link createTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size (and starting level). */
  capacity: number;
  /** The clock, for tests. @default performance.now */
  now?: () => number;
}

/** A token bucket that may go into debt, so a client that keeps flooding sinks deeper. */
export interface TokenBucket {
  /** Takes `cost` tokens; `false` when there were not enough (they are taken anyway, as debt). */
  take(cost: number): boolean;
  /** Tokens owed, 0 when the bucket is not in debt. */
  readonly debt: number;
}

export function createTokenBucket(opts: TokenBucketOptions): TokenBucket {
  const now = opts.now ?? (() => performance.now());
  let tokens = opts.capacity;
  let last = now();
  const refill = () => {
    const at = now();
    tokens = Math.min(opts.capacity, tokens + ((at - last) / 1000) * opts.ratePerSecond);
    last = at;
  };
  return {
    take(cost) {
      refill();
      const enough = tokens >= cost;
      tokens -= cost;
      return enough;
    },
    get debt() {
      return tokens < 0 ? -tokens : 0;
    },
  };
}
