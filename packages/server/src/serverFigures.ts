import type { AnyRouter } from '@trpc/server';
import { type DuplexProcedureStats, procedureBucketsSeconds } from './inspection';

type ProcedureType = DuplexProcedureStats['type'];

const bounds: readonly number[] = procedureBucketsSeconds;
const boundCount = bounds.length;

/**
 * One procedure's calls on this server: plain integers a call adds to, read when the server is
 * inspected or scraped. Found once per call (a `Map` lookup by path), never built per call.
 */
export class ProcedureFigures {
  calls = 0;
  /** Non-cumulative, one per bound of {@link procedureBucketsSeconds} plus +Inf. */
  readonly buckets: number[] = new Array<number>(boundCount + 1).fill(0);
  sumSeconds = 0;
  /** Errors by tRPC code; made on the first error. */
  errors: Map<string, number> | null = null;

  constructor(
    readonly path: string,
    readonly type: ProcedureType,
  ) {}

  /** A call that took `seconds` ended, with `errorCode` if it failed. */
  record(seconds: number, errorCode: string | null): void {
    this.calls++;
    this.sumSeconds += seconds;
    let index = 0;
    while (index < boundCount && seconds > (bounds[index] as number)) index++;
    (this.buckets[index] as number)++;
    if (errorCode !== null) {
      this.errors ??= new Map();
      this.errors.set(errorCode, (this.errors.get(errorCode) ?? 0) + 1);
    }
  }

  stats(): DuplexProcedureStats {
    return {
      path: this.path,
      type: this.type,
      calls: this.calls,
      errors: this.errors ? Object.fromEntries(this.errors) : {},
      buckets: [...this.buckets],
      sumSeconds: this.sumSeconds,
    };
  }
}

/**
 * The figures one server keeps beside its `DuplexMetrics` counters: closes by code, errors by
 * code, and each procedure's calls. Only the router's own paths get a {@link ProcedureFigures}, so a client calling made-up
 * paths cannot grow this (nor the label sets of `/metrics`).
 */
export class ServerFigures {
  /** Connections the server closed or refused, by close code (or HTTP status). */
  readonly closes = new Map<string, number>();
  /** Calls answered with an error, by tRPC code. */
  readonly errors = new Map<string, number>();
  readonly procedures = new Map<string, ProcedureFigures>();

  constructor(router: AnyRouter) {
    const procedures = router._def.procedures as Record<string, unknown>;
    for (const [path, procedure] of Object.entries(procedures)) {
      const type = (procedure as { _def?: { type?: unknown } })._def?.type;
      if (type === 'query' || type === 'mutation' || type === 'subscription') {
        this.procedures.set(path, new ProcedureFigures(path, type));
      }
    }
  }

  /** Counts one close (or refusal) the server made; `this`-free, so it can be handed around. */
  readonly countClose = (code: number | string): void => {
    const key = String(code);
    this.closes.set(key, (this.closes.get(key) ?? 0) + 1);
  };

  /** Counts one call answered with an error. */
  readonly countError = (code: string): void => {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  };
}
