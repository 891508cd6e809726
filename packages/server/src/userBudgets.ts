import type { IncomingMessage } from 'node:http';
import { TRPCError } from '@trpc/server';
import type { DuplexLimits } from './limits';
import { realTimers } from './realTimers';
import { TokenBucket } from './tokenBucket';

/** Whose budget a call spends: the user's id when it has one, else the client's address. */
export function userKeyOf(user: unknown, req: IncomingMessage): string {
  return userIdKeyOf(user) ?? `addr:${req.socket.remoteAddress}`;
}

/** The user's string or number `id` as a string, else `null`. */
export function userIdOf(user: unknown): string | null {
  const id = (user as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/** `user:<id>` for a user with a string or number `id`, else `null`. */
export function userIdKeyOf(user: unknown): string | null {
  const id = (user as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? `user:${id}` : null;
}

/** The error of a call refused past `maxCallsInFlightPerUser` with the line full. */
export function tooManyInFlightError(limits: DuplexLimits): TRPCError {
  return new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: `Too many calls in flight: at most ${limits.maxCallsInFlightPerUser} per user`,
  });
}

/**
 * Past this many tracked users, idle ones are swept (at most once a second). Users with an open
 * connection or a call in flight are never dropped; they are bounded by `maxConnections`.
 */
const sweepAboveUsers = 10_000;

/** What one user spends across all of their WebSocket connections. */
export class UserBudget {
  /** Calls, `userCallsPerSecond` refill, `userBurstCalls` deep. */
  readonly calls: TokenBucket;
  /** Incoming frame bytes, `userBytesPerSecond` refill, `userBurstBytes` deep. */
  readonly bytes: TokenBucket;
  /** Open WebSocket connections. */
  connections = 0;
  /** Queries and mutations running now. */
  inFlight = 0;
  /** Calls waiting for in-flight slots, oldest first, by frame. */
  readonly line: { count: number; grant: () => void }[] = [];
  /** Calls in {@link line}. */
  waiting = 0;
  /** Last use (on the budgets' clock), for idle expiry. */
  usedAt: number;

  constructor(limits: DuplexLimits, now: () => number) {
    this.usedAt = now();
    this.calls = new TokenBucket({
      ratePerSecond: limits.userCallsPerSecond,
      capacity: limits.userBurstCalls,
      now,
    });
    this.bytes = new TokenBucket({
      ratePerSecond: limits.userBytesPerSecond,
      capacity: limits.userBurstBytes,
      now,
    });
  }
}

/**
 * Per-user budgets shared by every connection of one server: a map keyed by user id, so that a
 * reconnect finds the same buckets (in debt if the user flooded) instead of fresh ones. An entry
 * is dropped once its user has no connection and no call, and has been idle long enough for its
 * buckets to be full again, so dropping it changes nothing.
 */
export class UserBudgets {
  private readonly users = new Map<string, UserBudget>();
  private readonly idleMs: number;
  private lastSweep = 0;

  constructor(
    private readonly limits: DuplexLimits,
    /** The clock, for tests. @default the real `performance.now`, even under fake timers */
    private readonly now: () => number = realTimers.now,
  ) {
    // Long enough to refill from a burst's worth of debt.
    this.idleMs = Math.max(
      60_000,
      ((2 * limits.userBurstCalls) / limits.userCallsPerSecond) * 1_000,
      ((2 * limits.userBurstBytes) / limits.userBytesPerSecond) * 1_000,
    );
  }

  /** Users tracked now. */
  get size(): number {
    return this.users.size;
  }

  /**
   * Claims a connection slot for `key`'s user.
   * @returns the user's budget, or `null` when they have `maxConnectionsPerUser` open
   */
  connect(key: string): UserBudget | null {
    const now = this.now();
    if (this.users.size > sweepAboveUsers && now - this.lastSweep > 1_000) this.sweep(now);
    let budget = this.users.get(key);
    if (!budget) {
      budget = new UserBudget(this.limits, this.now);
      this.users.set(key, budget);
    }
    budget.usedAt = now;
    if (budget.connections >= this.limits.maxConnectionsPerUser) return null;
    budget.connections++;
    return budget;
  }

  /** Gives back a slot {@link connect} claimed. */
  disconnect(budget: UserBudget): void {
    budget.connections--;
    budget.usedAt = this.now();
  }

  /**
   * Waits for `count` of the user's in-flight slots, granted together and in arrival order (a
   * batch never holds some slots while it waits for the rest, which could leave every slot held
   * by calls that cannot start). A batch bigger than the cap waits for all slots to be free.
   * @returns `false` at once when `userBurstCalls` calls already wait
   */
  async acquire(budget: UserBudget, count = 1): Promise<boolean> {
    if (this.tryAcquire(budget, count)) return true;
    let granted: () => void = () => {};
    const turn = new Promise<void>((resolve) => {
      granted = resolve;
    });
    if (!this.enqueue(budget, count, granted)) return false;
    await turn;
    return true;
  }

  /** Takes `count` slots now if nobody waits and they are free. */
  tryAcquire(budget: UserBudget, count: number): boolean {
    if (budget.line.length > 0 || !this.fits(budget, count)) return false;
    budget.inFlight += count;
    return true;
  }

  /**
   * Puts `count` calls in line for slots; `grant` runs once they are taken for them.
   * @returns `false` (and nothing waits) when `userBurstCalls` calls already wait
   */
  enqueue(budget: UserBudget, count: number, grant: () => void): boolean {
    if (!this.hasRoom(budget, count)) return false;
    budget.waiting += count;
    budget.line.push({ count, grant });
    return true;
  }

  /** Whether `count` more calls may wait for slots (`userBurstCalls` at most). */
  hasRoom(budget: UserBudget, count: number): boolean {
    return budget.waiting + count <= this.limits.userBurstCalls;
  }

  /** Frees `count` slots {@link acquire} granted; the next in line get them. */
  release(budget: UserBudget, count = 1): void {
    budget.inFlight -= count;
    budget.usedAt = this.now();
    let next = budget.line[0];
    while (next && this.fits(budget, next.count)) {
      budget.line.shift();
      budget.waiting -= next.count;
      budget.inFlight += next.count;
      next.grant();
      next = budget.line[0];
    }
  }

  private fits(budget: UserBudget, count: number): boolean {
    const max = this.limits.maxCallsInFlightPerUser;
    return budget.inFlight + count <= max || budget.inFlight === 0;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, budget] of this.users) {
      if (budget.connections === 0 && budget.inFlight === 0 && now - budget.usedAt > this.idleMs) {
        this.users.delete(key);
      }
    }
  }
}
