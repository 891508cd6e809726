import { realTimers } from './realTimers';

/** Options of {@link createTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size (and starting level). */
  capacity: number;
  /** The clock, for tests. @default the real `performance.now`, even under fake timers */
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
    this.now = opts.now ?? realTimers.now;
    this.tokens = opts.capacity;
    this.last = this.now();
  }

  /** Takes `cost` tokens; `false` when there were not enough (they are taken anyway, as debt). */
  take(cost: number): boolean {
    const enough = this.has(cost);
    this.tokens -= cost;
    return enough;
  }

  /**
   * Whether `cost` tokens are there now. A cost above the bucket's size counts as its size, so
   * a frame bigger than the burst is not refused for ever: it waits for a full bucket.
   */
  has(cost: number): boolean {
    this.refill();
    return this.tokens >= Math.min(cost, this.opts.capacity);
  }

  /** Tokens now, negative in debt. */
  get level(): number {
    this.refill();
    return this.tokens;
  }

  /** Milliseconds until {@link has} holds for `cost` (0 when it does now). */
  waitMs(cost: number): number {
    this.refill();
    const missing = Math.min(cost, this.opts.capacity) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.opts.ratePerSecond) * 1000);
  }

  private refill(): void {
    const at = this.now();
    const { capacity, ratePerSecond } = this.opts;
    this.tokens = Math.min(capacity, this.tokens + ((at - this.last) / 1000) * ratePerSecond);
    this.last = at;
  }

  /** Tokens owed, 0 when the bucket is not in debt. */
  get debt(): number {
    return this.tokens < 0 ? -this.tokens : 0;
  }
}

/**
 * Token buckets by key (a user, a stream), made on first use. Once there are many, the ones
 * idle long enough to be full again are dropped, so memory stays bounded by active keys.
 */
export function createKeyedBuckets(opts: { ratePerSecond: number; capacity: number }) {
  const buckets = new Map<string, { bucket: TokenBucket; usedAt: number }>();
  // Long enough to refill from a burst's worth of debt: dropping it then changes nothing.
  const idleMs = Math.max(60_000, ((2 * opts.capacity) / opts.ratePerSecond) * 1_000);
  return {
    /** Takes `cost` tokens from `key`'s bucket; `false` when it had too few (see `take`). */
    take(key: string, cost = 1): boolean {
      const now = realTimers.now();
      if (buckets.size > 10_000) {
        for (const [k, entry] of buckets) if (now - entry.usedAt > idleMs) buckets.delete(k);
      }
      let entry = buckets.get(key);
      if (!entry) {
        entry = { bucket: createTokenBucket(opts), usedAt: now };
        buckets.set(key, entry);
      }
      entry.usedAt = now;
      return entry.bucket.take(cost);
    },
  };
}
