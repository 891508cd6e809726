import type { ChatLimits } from './chatLimits';

type UploadLimits = Pick<
  ChatLimits,
  'uploadsPerMinute' | 'uploadBurst' | 'uploadBytesPerMinute' | 'uploadBurstBytes'
>;

/**
 * A token bucket that asks before it takes, so a refused upload costs nothing and `Retry-After`
 * is exact. A cost above the bucket's size counts as its size: it waits for a full bucket.
 */
class Bucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }

  /** Milliseconds until `cost` tokens are there (0 when they are now). */
  waitMs(cost: number): number {
    this.refill();
    const missing = Math.min(cost, this.capacity) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.ratePerSecond) * 1000);
  }

  /** Takes `cost` tokens, into debt if there are too few. */
  take(cost: number): void {
    this.refill();
    this.tokens -= cost;
  }

  private refill(): void {
    const at = performance.now();
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((at - this.last) / 1000) * this.ratePerSecond,
    );
    this.last = at;
  }
}

interface UserBuckets {
  uploads: Bucket;
  bytes: Bucket;
  usedAt: number;
}

/**
 * Each user's upload rate: two token buckets, one counting uploads and one counting bytes, so
 * neither many tiny uploads nor a few large ones get past. Kept per process, by user id; the
 * buckets of users idle long enough to be full again are dropped once there are many.
 */
export class UploadBudget {
  private readonly users = new Map<string, UserBuckets>();
  private readonly idleMs: number;

  constructor(private readonly limits: UploadLimits) {
    // Long enough for both buckets to refill from empty: dropping one then changes nothing.
    this.idleMs = Math.max(
      60_000,
      (limits.uploadBurst / limits.uploadsPerMinute) * 60_000,
      (limits.uploadBurstBytes / limits.uploadBytesPerMinute) * 60_000,
    );
  }

  /**
   * Milliseconds `userId` must wait before an upload of `sizeBytes` fits the budget; 0 when it
   * fits now. Takes nothing.
   */
  waitMs(userId: string, sizeBytes: number): number {
    const user = this.user(userId);
    return Math.max(user.uploads.waitMs(1), user.bytes.waitMs(sizeBytes));
  }

  /** Spends `uploads` uploads and `sizeBytes` bytes, into debt if they did not fit. */
  spend(userId: string, uploads: number, sizeBytes: number): void {
    const user = this.user(userId);
    user.uploads.take(uploads);
    user.bytes.take(sizeBytes);
  }

  private user(userId: string): UserBuckets {
    const now = performance.now();
    if (this.users.size > 10_000) {
      for (const [id, u] of this.users) if (now - u.usedAt > this.idleMs) this.users.delete(id);
    }
    let user = this.users.get(userId);
    if (!user) {
      user = {
        uploads: new Bucket(this.limits.uploadsPerMinute / 60, this.limits.uploadBurst),
        bytes: new Bucket(this.limits.uploadBytesPerMinute / 60, this.limits.uploadBurstBytes),
        usedAt: now,
      };
      this.users.set(userId, user);
    }
    user.usedAt = now;
    return user;
  }
}
