/** Options of {@link createTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size (and starting level). */
  capacity: number;
  /** The clock, for tests. @default performance.now */
  now?: () => number;
}

/** Creates a {@link TokenBucket}, full. */
export function createTokenBucket(opts: TokenBucketOptions): TokenBucket {
  return new TokenBucket(opts);
}

/**
 * A token bucket that may go into debt, so a client that keeps flooding sinks deeper. A class
 * so that a bucket per connection costs its fields and no closures.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(private readonly opts: TokenBucketOptions) {
    this.now = opts.now ?? performanceNow;
    this.tokens = opts.capacity;
    this.last = this.now();
  }

  /** Takes `cost` tokens; `false` when there were not enough (they are taken anyway, as debt). */
  take(cost: number): boolean {
    const at = this.now();
    const { capacity, ratePerSecond } = this.opts;
    this.tokens = Math.min(capacity, this.tokens + ((at - this.last) / 1000) * ratePerSecond);
    this.last = at;
    const enough = this.tokens >= cost;
    this.tokens -= cost;
    return enough;
  }

  /** Tokens owed, 0 when the bucket is not in debt. */
  get debt(): number {
    return this.tokens < 0 ? -this.tokens : 0;
  }
}

const performanceNow = () => performance.now();
