import { createRequire } from 'node:module';
import {
  type AnyRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  initTRPC,
  type ProcedureType,
  TRPCError,
} from '@trpc/server';
import { middlewareMarker } from '@trpc/server/unstable-core-do-not-import';
import { inVersionRange } from './versionRange';

/**
 * The one file that reads the internals of tRPC's procedures (`procedure._def.middlewares`, the
 * resolver's `resolveMiddleware`, the `middlewareMarker` of a result). Everything else calls
 * procedures through {@link callProcedure}, which takes the fast path only for what
 * {@link checkProcedureInternals} vouched for at startup and {@link planOf} for each procedure.
 *
 * Why: tRPC's `callRecursive` copies its options object twice at every middleware step with
 * Babel's `_objectSpread2` (a key listing and a `defineProperty` per key), and a procedure
 * built on Duplex's base runs at least three steps (the subscription limit, the validator, the
 * resolver). Measured at 64 calls in flight, the helper and its two sub-helpers were about half
 * of the server's CPU. This runner walks the same middlewares with the same semantics, building
 * each step's options once ({@link MiddlewareOptions}), and the call's `signal` only if something
 * reads it.
 *
 * What it keeps from `callRecursive` (tRPC 11, `procedureBuilder.ts`), exactly:
 * - each middleware gets `{ router, path, getRawInput, ctx, type, signal, batchIndex, input,
 *   meta, next }`, `meta` being `_def.meta`;
 * - `next()` runs the next step with `ctx` merged over the current one (`{ ...ctx, ...next.ctx }`)
 *   when given, `input` replaced when the key is present, and `getRawInput` replaced when given;
 * - a step that throws becomes `{ ok: false, error: getTRPCErrorFromUnknown(cause), marker }`,
 *   which the middleware before it gets from its `next()`;
 * - no result is `INTERNAL_SERVER_ERROR` ("No result from middlewares…"), a failed result is
 *   thrown, a successful one's `data` returned;
 * - a path with no procedure, or one of another type, is tRPC's own `NOT_FOUND` (the fallback).
 *
 * What it changes: `signal` is an own getter that asks the caller for the signal, so a call
 * whose middlewares and resolver never read it never makes one (the options object is an
 * instance of a class, not a plain object); and middlewares marked with
 * {@link markSubscriptionOnly} (which only call `next()` unchanged outside subscriptions) are
 * left out of query and mutation chains.
 *
 * Falls back to `callTRPCProcedure` (tRPC's own path) for a `@trpc/server` outside
 * {@link procedureInternalsRange}, when the startup probe finds another shape, with
 * `DUPLEX_PROCEDURE_RUNNER=off` in the environment (the operator's switch should a release
 * change what a field means but not its shape), and for any procedure whose `_def` is not the
 * expected one (an `experimental_caller`, lazy routers, a procedure from another copy of tRPC).
 */

/**
 * The `@trpc/server` versions whose procedure internals the fast path relies on: the 11.x range
 * Duplex supports (11.22.1 is what `@trpc/tanstack-react-query` needs; 11.25.2 is installed and
 * tested). A 12.x release falls back to tRPC's own caller until it has been checked.
 */
export const procedureInternalsRange = { min: [11, 22, 1], belowMajor: 12 } as const;

/** What one call of a procedure takes: tRPC's `ProcedureCallOptions`, `signal` read lazily. */
export interface ProcedureCall {
  readonly path: string;
  readonly type: ProcedureType;
  readonly ctx: unknown;
  readonly getRawInput: () => Promise<unknown>;
  readonly batchIndex: number;
  /** The call's signal, read only when a middleware or the resolver reads `opts.signal`. */
  readonly signal: AbortSignal | undefined;
}

/** A tRPC middleware as the runner calls it. */
type Middleware = (opts: object) => unknown;

/** What a middleware returns (tRPC's `MiddlewareResult`). */
type StepResult =
  | { ok: true; data: unknown; marker: string }
  | { ok: false; error: TRPCError; marker: string }
  | undefined;

/** What one step passes to the next: the three things `next()` may change. */
interface StepInputs {
  ctx: unknown;
  input: unknown;
  getRawInput: () => Promise<unknown>;
}

/** What `next()` may be given. */
interface NextOptions {
  ctx?: object;
  input?: unknown;
  getRawInput?: () => Promise<unknown>;
}

/** A procedure as the fast path runs it. */
export interface ProcedurePlan {
  type: ProcedureType;
  meta: unknown;
  /** `_def.middlewares`, the resolver's last; for queries and mutations without the marked. */
  chain: readonly Middleware[];
}

/** The verdict of {@link checkProcedureInternals}. */
export type ProcedureInternalsCheck =
  | { ok: true; version: string }
  | { ok: false; version: string; reason: string };

/** What {@link checkProcedureInternals} inspects; the installed tRPC unless a test says otherwise. */
export interface ProcedureInternalsProbe {
  version: string;
  /** A procedure built with `procedure.use(middleware).input(parser).query(resolver)`. */
  procedure: unknown;
  /** `process.env.DUPLEX_PROCEDURE_RUNNER`; `off` forces tRPC's own caller. */
  setting?: string | undefined;
}

const procedureTypes: readonly unknown[] = ['query', 'mutation', 'subscription'];

/** The name tRPC gives the middleware that calls the resolver (`createResolver`). */
const resolverName = 'resolveMiddleware';

const subscriptionOnly = new WeakSet<object>();

/**
 * Marks a middleware that, for queries and mutations, does nothing but `return next()`: the
 * runner leaves it out of their chains (one step fewer per call). Only for middlewares where
 * that holds for every call, such as Duplex's subscription limit.
 */
export function markSubscriptionOnly<T extends object>(middleware: T): T {
  subscriptionOnly.add(middleware);
  return middleware;
}

const runnerHandled = new WeakSet<object>();

/**
 * Marks a middleware whose work the runner's caller (the Duplex handler) does itself: the runner
 * leaves it out of every chain, so it runs only where tRPC calls the procedure (the stock
 * handler, plain HTTP, `createCaller`). For Duplex's call figures and spans.
 */
export function markRunnerHandled<T extends object>(middleware: T): T {
  runnerHandled.add(middleware);
  return middleware;
}

/** The middlewares of a procedure's `_def`, when it has the shape the runner expects. */
function middlewaresOf(
  procedure: unknown,
): { def: Record<string, unknown>; chain: Middleware[] } | null {
  if (typeof procedure !== 'function') return null;
  const def = (procedure as { _def?: unknown })._def as Record<string, unknown> | undefined;
  if (typeof def !== 'object' || def === null || def.procedure !== true) return null;
  if (!procedureTypes.includes(def.type)) return null;
  // A procedure with its own caller (`experimental_caller`) is called through it.
  if (def.caller !== undefined || def.experimental_caller) return null;
  const { middlewares } = def;
  if (!Array.isArray(middlewares) || middlewares.length === 0) return null;
  if (!middlewares.every((fn) => typeof fn === 'function')) return null;
  if ((middlewares.at(-1) as Middleware).name !== resolverName) return null;
  return { def, chain: middlewares as Middleware[] };
}

/**
 * Whether the fast path may run with this tRPC: its version is in
 * {@link procedureInternalsRange}, and a probe procedure built with one middleware, an input
 * parser and a resolver has them as `_def.middlewares` in that order (the parser's marked
 * `_type: 'input'`, the resolver's named `resolveMiddleware`), with `middlewareMarker` the
 * string results carry. Runs once at startup, on the installed tRPC.
 */
export function checkProcedureInternals(probe: ProcedureInternalsProbe): ProcedureInternalsCheck {
  const { version } = probe;
  if (probe.setting === 'off') return { ok: false, version, reason: 'DUPLEX_PROCEDURE_RUNNER=off' };
  if (!inVersionRange(version, procedureInternalsRange)) {
    return { ok: false, version, reason: `@trpc/server ${version} is outside the tested range` };
  }
  if (typeof middlewareMarker !== 'string') {
    return { ok: false, version, reason: 'middlewareMarker is not a string' };
  }
  const read = middlewaresOf(probe.procedure);
  if (read?.def.type !== 'query') {
    return {
      ok: false,
      version,
      reason: 'a procedure has no _def.middlewares ending in its resolver',
    };
  }
  const { chain } = read;
  if (chain.length !== 3 || (chain[1] as { _type?: unknown })._type !== 'input') {
    return {
      ok: false,
      version,
      reason: 'a procedure does not list its middleware, then its input parser',
    };
  }
  return { ok: true, version };
}

function installedTrpcVersion(): string {
  const pkg = createRequire(import.meta.url)('@trpc/server/package.json') as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

function probeProcedure(): unknown {
  const t = initTRPC.create();
  return t.procedure
    .use(({ next }) => next())
    .input((value: unknown) => value)
    .query(() => null);
}

/** The check of the installed `@trpc/server`, made once when the server module loads. */
export const procedureInternalsCheck: ProcedureInternalsCheck = checkProcedureInternals({
  version: installedTrpcVersion(),
  procedure: probeProcedure(),
  setting: process.env.DUPLEX_PROCEDURE_RUNNER,
});

const plans = new WeakMap<object, ProcedurePlan | null>();

/**
 * How the fast path runs `procedure`, read once per procedure; `null` when the startup check
 * failed (`check` is the installed tRPC's unless a test passes another) or this procedure's
 * `_def` is not the expected shape, in which case tRPC calls it.
 */
export function planOf(
  procedure: unknown,
  check: ProcedureInternalsCheck = procedureInternalsCheck,
): ProcedurePlan | null {
  if (!check.ok || typeof procedure !== 'function') return null;
  let plan = plans.get(procedure);
  if (plan === undefined) {
    const read = middlewaresOf(procedure);
    const type = read?.def.type as ProcedureType;
    plan = read && {
      type,
      meta: read.def.meta,
      chain: read.chain.filter(
        (fn) => !runnerHandled.has(fn) && (type === 'subscription' || !subscriptionOnly.has(fn)),
      ),
    };
    plans.set(procedure, plan);
  }
  return plan;
}

/** A step that threw or rejected, as `callRecursive` hands it to the step before it. */
function failedStep(cause: unknown): StepResult {
  return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: middlewareMarker };
}

/** The chain's result, as tRPC's procedure caller makes it the call's. */
function dataOf(result: StepResult): unknown {
  if (!result) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'No result from middlewares - did you forget to `return next()`?',
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}

/** The inputs of the step after `inputs`, as `next(nextOpts)` changes them. */
function nextInputs(inputs: StepInputs, nextOpts: NextOptions | undefined): StepInputs {
  return {
    ctx: nextOpts?.ctx ? { ...(inputs.ctx as object), ...nextOpts.ctx } : inputs.ctx,
    input: nextOpts && 'input' in nextOpts ? nextOpts.input : inputs.input,
    getRawInput: nextOpts?.getRawInput ?? inputs.getRawInput,
  };
}

/**
 * What a middleware gets: tRPC's options, every one an own enumerable property as there, with
 * `signal` an own getter that asks the call. The getter is one function shared by every
 * instance (it finds the call in a private field): a getter written in an object literal is a
 * new function per object, which V8 keeps in dictionary mode (~1 KB per step, measured).
 */
class MiddlewareOptions {
  readonly #call: ProcedureCall;
  declare readonly router: AnyRouter;
  declare readonly path: string;
  declare readonly getRawInput: () => Promise<unknown>;
  declare readonly ctx: unknown;
  declare readonly type: ProcedureType;
  declare readonly signal: AbortSignal | undefined;
  declare readonly batchIndex: number;
  declare readonly input: unknown;
  declare readonly meta: unknown;
  declare readonly next: (nextOpts?: NextOptions) => Promise<StepResult>;

  constructor(run: ChainRun, index: number, inputs: StepInputs) {
    const { call } = run;
    this.#call = call;
    this.router = run.router;
    this.path = call.path;
    this.getRawInput = inputs.getRawInput;
    this.ctx = inputs.ctx;
    this.type = call.type;
    Object.defineProperty(this, 'signal', MiddlewareOptions.signalProperty);
    this.batchIndex = call.batchIndex;
    this.input = inputs.input;
    this.meta = run.plan.meta;
    this.next = (nextOpts) => run.step(index + 1, nextInputs(inputs, nextOpts));
  }

  /** `signal`, read from the call when asked; assigning it makes it a plain value, as in tRPC. */
  static readonly signalProperty: PropertyDescriptor = {
    get(this: MiddlewareOptions) {
      return this.#call.signal;
    },
    set(this: MiddlewareOptions, value: unknown) {
      Object.defineProperty(this, 'signal', {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    },
    enumerable: true,
    configurable: true,
  };
}

/**
 * One run of a procedure's chain. Steps are promise chains rather than async functions: an
 * async function's suspended frame is one more allocation per step.
 */
class ChainRun {
  constructor(
    readonly plan: ProcedurePlan,
    readonly router: AnyRouter,
    readonly call: ProcedureCall,
  ) {}

  /** `callRecursive(index)`: the step's middleware, its throw or rejection a failed result. */
  step(index: number, inputs: StepInputs): Promise<StepResult> {
    let result: unknown;
    try {
      const middleware = this.plan.chain[index] as Middleware;
      result = middleware(new MiddlewareOptions(this, index, inputs));
    } catch (cause) {
      return Promise.resolve(failedStep(cause));
    }
    return Promise.resolve(result as StepResult).then(undefined, failedStep);
  }
}

/**
 * Calls the procedure at `call.path` as tRPC's `callTRPCProcedure` does (same middlewares,
 * context, input, errors and result), through the fast path when {@link planOf} allows.
 * `check` is the installed tRPC's unless a test passes another.
 */
export function callProcedure(
  router: AnyRouter,
  call: ProcedureCall,
  check: ProcedureInternalsCheck = procedureInternalsCheck,
): Promise<unknown> {
  const procedure = (router._def.procedures as Record<string, unknown>)[call.path];
  const plan = planOf(procedure, check);
  if (!plan || plan.type !== call.type) {
    const { path, getRawInput, ctx, type, signal, batchIndex } = call;
    return callTRPCProcedure({ router, path, getRawInput, ctx, type, signal, batchIndex });
  }
  return new ChainRun(plan, router, call)
    .step(0, { ctx: call.ctx, input: undefined, getRawInput: call.getRawInput })
    .then(dataOf);
}
