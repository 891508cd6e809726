import type { DuplexLimits } from './limits';
import { realTimers } from './realTimers';
import { TokenBucket } from './tokenBucket';
import type { UserBudget } from './userBudgets';

/** What one incoming frame costs: its calls (1 for a frame that is not a batch) and its bytes. */
export interface FrameCost {
  calls: number;
  bytes: number;
}

/** A frame waiting for the budgets to allow it. */
interface Waiting {
  cost: FrameCost;
  run: () => void;
}

/**
 * The budgets one WebSocket connection spends its incoming frames from: calls and bytes per
 * connection, and once `authenticate` named the user, the same per user (shared by all of that
 * user's connections, so a reconnect refills nothing). Both handlers price every frame here.
 *
 * A frame the budgets allow runs at once. One they do not allow yet waits, in arrival order,
 * until they have refilled: a client that queued calls while its socket opened, or whose frames
 * piled up while the server stalled, is slowed down, not refused. A frame waits only while the
 * line stays within one burst (the bucket, once all in line has run, at most `burstCalls` short,
 * and `userBurstCalls` for the user's) and one `maxPayloadBytes` of frames; beyond it the frame is
 * refused (its calls get `TOO_MANY_REQUESTS`) and its cost is taken as debt. A connection, or a
 * user, more than a burst into debt is closed with 4429.
 */
export class FrameBudget {
  private readonly calls: TokenBucket;
  private readonly bytes: TokenBucket;
  private user: UserBudget | null = null;
  /** Spent before the user was known, charged to them once they are. */
  private readonly beforeUser: FrameCost = { calls: 0, bytes: 0 };
  private readonly line: Waiting[] = [];
  private lineCalls = 0;
  private lineBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(
    private readonly limits: DuplexLimits,
    /** The connection or its user is past its debt: close the socket with 4429. */
    private readonly onFlood: () => void,
  ) {
    this.calls = new TokenBucket({
      ratePerSecond: limits.callsPerSecond,
      capacity: limits.burstCalls,
    });
    this.bytes = new TokenBucket({
      ratePerSecond: limits.bytesPerSecond,
      capacity: limits.burstBytes,
    });
  }

  /**
   * Runs `run` now, or later once the budgets allow `cost` (after every frame that waits
   * already), or calls `refuse` when the line is full. A flood past its debt calls `onFlood`
   * instead of `refuse`.
   */
  offer(cost: FrameCost, run: () => void, refuse: () => void): void {
    if (this.disposed) return;
    if (this.line.length === 0 && this.fits(cost)) {
      this.take(cost);
      run();
      return;
    }
    // A frame may wait while the bucket, once everything in line has run, would be at most one
    // burst short: 200 calls queued by a client as its socket opened fit, whatever their frames.
    const short = this.lineCalls + cost.calls;
    const { user, limits } = this;
    const roomForCalls =
      this.calls.level - short >= -limits.burstCalls &&
      (!user || user.calls.level - short >= -limits.userBurstCalls);
    const roomForBytes =
      this.line.length === 0 || this.lineBytes + cost.bytes <= limits.maxPayloadBytes;
    if (roomForCalls && roomForBytes) {
      this.line.push({ cost, run });
      this.lineCalls += cost.calls;
      this.lineBytes += cost.bytes;
      this.schedule();
      return;
    }
    this.take(cost);
    if (this.pastDebt()) this.flood();
    else refuse();
  }

  /**
   * Takes `cost` at once, never waiting: for frames answered whatever the budget (pings) or
   * refused unread (too deep).
   * @returns whether the budgets had it; `false` also when the socket is being closed for it
   */
  charge(cost: FrameCost): boolean {
    if (this.disposed) return false;
    const enough = this.fits(cost);
    this.take(cost);
    if (!enough && this.pastDebt()) this.flood();
    return enough;
  }

  /**
   * Names the connection's user: what it spent so far is charged to them.
   * @returns `false` when the user is past their debt (a reconnecting flooder): the socket is
   *   being closed with 4429
   */
  setUser(user: UserBudget): boolean {
    this.user = user;
    user.calls.take(this.beforeUser.calls);
    user.bytes.take(this.beforeUser.bytes);
    // Already closed for flooding: the debt is the user's now, the socket needs no second close.
    if (this.disposed) return false;
    if (!this.pastDebt()) return true;
    this.flood();
    return false;
  }

  /** The socket closed: waiting frames are dropped. */
  dispose(): void {
    this.disposed = true;
    realTimers.clearTimeout(this.timer);
    this.line.length = 0;
  }

  private fits({ calls, bytes }: FrameCost): boolean {
    const { user } = this;
    return (
      this.calls.has(calls) &&
      this.bytes.has(bytes) &&
      (!user || (user.calls.has(calls) && user.bytes.has(bytes)))
    );
  }

  private take({ calls, bytes }: FrameCost): void {
    this.calls.take(calls);
    this.bytes.take(bytes);
    if (this.user) {
      this.user.calls.take(calls);
      this.user.bytes.take(bytes);
    } else {
      this.beforeUser.calls += calls;
      this.beforeUser.bytes += bytes;
    }
  }

  private pastDebt(): boolean {
    const { limits, user } = this;
    return (
      this.calls.debt > limits.burstCalls ||
      this.bytes.debt > limits.burstBytes ||
      (user !== null &&
        (user.calls.debt > limits.userBurstCalls || user.bytes.debt > limits.userBurstBytes))
    );
  }

  private flood(): void {
    this.dispose();
    this.onFlood();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.line.length === 0) return;
    const head = (this.line[0] as Waiting).cost;
    const { user } = this;
    const waitMs = Math.max(
      this.calls.waitMs(head.calls),
      this.bytes.waitMs(head.bytes),
      user ? user.calls.waitMs(head.calls) : 0,
      user ? user.bytes.waitMs(head.bytes) : 0,
    );
    this.timer = realTimers.setTimeout(this.drain, Math.max(1, waitMs));
  }

  private readonly drain = (): void => {
    this.timer = undefined;
    while (!this.disposed && this.line.length > 0) {
      const head = this.line[0] as Waiting;
      if (!this.fits(head.cost)) break;
      this.line.shift();
      this.lineCalls -= head.cost.calls;
      this.lineBytes -= head.cost.bytes;
      this.take(head.cost);
      head.run();
    }
    this.schedule();
  };
}
