import type { UserBudget, UserBudgets } from './userBudgets';

/** A frame held until its calls have in-flight slots. */
interface HeldFrame {
  ids: string[];
  deliver: () => void;
  refuse: () => void;
}

/** A response frame's id as JSON text (`1`, `"a"`), read from its start without parsing it. */
const responseId = /^\{"id":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")/;

/**
 * `maxCallsInFlightPerUser` for one socket of the stock handler, which runs calls inside tRPC
 * where Duplex cannot hold a single call back: a frame is handed to tRPC once all of its queries
 * and mutations have slots, and each slot is freed when the reply under that call's id is sent
 * (or the socket closes). Frames after a held one wait behind it, so tRPC sees them in order.
 */
export class InFlightSlots {
  private readonly held: HeldFrame[] = [];
  /** Calls in flight by id (JSON text), with how many share the id. */
  private readonly running = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly budgets: UserBudgets,
    private readonly user: UserBudget,
  ) {}

  /** Delivers a frame whose query and mutation ids are `ids` now, later, or refuses it. */
  enter(ids: string[], deliver: () => void, refuse: () => void): void {
    if (this.closed) return;
    if (this.held.length > 0) {
      // The head's calls are in the user's line already; those behind it count as waiting too.
      let behind = ids.length;
      for (let i = 1; i < this.held.length; i++) behind += (this.held[i] as HeldFrame).ids.length;
      if (this.budgets.hasRoom(this.user, behind)) this.held.push({ ids, deliver, refuse });
      else refuse();
      return;
    }
    this.pass({ ids, deliver, refuse });
  }

  /** A frame was sent: frees the slot of the call it answers. */
  onSent(data: unknown): void {
    if (this.running.size === 0 || typeof data !== 'string') return;
    const id = responseId.exec(data)?.[1];
    const count = id === undefined ? undefined : this.running.get(id);
    if (id === undefined || count === undefined) return;
    if (count > 1) this.running.set(id, count - 1);
    else this.running.delete(id);
    this.budgets.release(this.user);
  }

  /** The socket closed: its slots are freed, its held frames dropped. */
  close(): void {
    this.closed = true;
    this.held.length = 0;
    let count = 0;
    for (const n of this.running.values()) count += n;
    this.running.clear();
    if (count > 0) this.budgets.release(this.user, count);
  }

  /** Runs `frame` now, or leaves it at the head of `held` waiting for its grant. */
  private pass(frame: HeldFrame): boolean {
    const { ids } = frame;
    if (ids.length === 0 || this.budgets.tryAcquire(this.user, ids.length)) {
      this.start(frame);
      return true;
    }
    const count = ids.length;
    if (this.budgets.enqueue(this.user, count, () => this.granted(count))) {
      this.held.unshift(frame);
      return false;
    }
    frame.refuse();
    return true;
  }

  private start({ ids, deliver }: HeldFrame): void {
    for (const id of ids) this.running.set(id, (this.running.get(id) ?? 0) + 1);
    deliver();
  }

  /** The frame at the head of `held` has its `count` slots. */
  private granted(count: number): void {
    if (this.closed) {
      this.budgets.release(this.user, count);
      return;
    }
    this.start(this.held.shift() as HeldFrame);
    while (this.held.length > 0) {
      if (!this.pass(this.held.shift() as HeldFrame)) return;
    }
  }
}
