import {
  type AnyRouter,
  callTRPCProcedure,
  experimental_lazy,
  initTRPC,
  type ProcedureType,
  TRPCError,
} from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  callProcedure,
  checkProcedureInternals,
  markRunnerHandled,
  markSubscriptionOnly,
  type ProcedureInternalsCheck,
  planOf,
  procedureInternalsCheck,
} from './procedureRunner';

interface Ctx {
  user: string;
  tag?: string;
}

const t = initTRPC.context<Ctx>().meta<{ label: string }>().create({ isDev: false });

/** What each middleware of the last call saw, by middleware name. */
let seen: Record<string, Record<string, unknown>> = {};
const record = (name: string, opts: object) => {
  // Functions (next, getRawInput) are closures of each call: only their presence compares.
  seen[name] = Object.fromEntries(
    Object.entries(opts).map(([key, value]) => [key, typeof value === 'function' ? 'fn' : value]),
  );
  seen[`${name}.signalIsGetter`] = {
    value: typeof Object.getOwnPropertyDescriptor(opts, 'signal')?.get === 'function',
  };
};

const addTag = t.middleware((opts) => {
  record('addTag', opts);
  return opts.next({ ctx: { tag: 'tagged' } });
});
const replaceInput = t.middleware(({ next }) => next({ input: { text: 'replaced' } }));
const clearInput = t.middleware(({ next }) => next({ input: undefined }));
const overrideUser = t.middleware(({ next }) => next({ ctx: { user: 'root' } }));
const rawOverride = t.middleware(({ next }) =>
  next({ getRawInput: async () => ({ text: 'from raw override' }) }),
);
const forgetful = t.middleware(async ({ next }) => {
  await next();
  return undefined as never;
});
const throwing = t.middleware(() => {
  throw new TRPCError({ code: 'FORBIDDEN', message: 'not yours' });
});
const throwingPlain = t.middleware(() => {
  throw new Error('plain failure');
});
/** Returns what its next() gave, after checking it: the error result of a later step. */
const inspectsFailure = t.middleware(async ({ next }) => {
  const result = await next();
  seen.inspectsFailure = {
    ok: result.ok,
    marker: (result as { marker?: unknown }).marker,
    isTRPCError: !result.ok && result.error instanceof TRPCError,
    code: result.ok ? null : result.error.code,
  };
  return result;
});
let limitRuns = 0;
const subscriptionLimitLike = t.middleware(
  markSubscriptionOnly(async ({ next }) => {
    limitRuns++;
    return next();
  }),
);

const text = z.object({ text: z.string() });
const more = z.object({ extra: z.number().optional() });

const router = t.router({
  echo: t.procedure.input(text).query(({ input }) => input),
  tagged: t.procedure
    .meta({ label: 'tagged' })
    .use(addTag)
    .input(text)
    .query(({ ctx, input }) => ({ ctx, input })),
  twoInputs: t.procedure
    .input(text)
    .input(more)
    .query(({ input }) => input),
  replaced: t.procedure.use(replaceInput).query(({ input }) => input),
  cleared: t.procedure
    .input(text)
    .use(clearInput)
    .query(({ input }) => ({ input })),
  overridden: t.procedure
    .use(overrideUser)
    .use(addTag)
    .query(({ ctx }) => ctx),
  rawOverridden: t.procedure
    .use(rawOverride)
    .input(text)
    .query(({ input }) => input),
  forgetful: t.procedure.use(forgetful).query(() => 'never seen'),
  forbidden: t.procedure
    .use(inspectsFailure)
    .use(throwing)
    .query(() => 'never seen'),
  plainFailure: t.procedure.use(throwingPlain).query(() => 'never seen'),
  resolverThrows: t.procedure.use(inspectsFailure).mutation(() => {
    throw new Error('resolver failure');
  }),
  badOutput: t.procedure.output(z.string()).query(() => 42 as unknown as string),
  goodOutput: t.procedure.output(z.string()).query(() => 'fine'),
  readsSignal: t.procedure.query(({ signal }) => signal?.aborted ?? 'no signal'),
  ignoresSignal: t.procedure.mutation(() => 'ignored'),
  limited: t.procedure.use(subscriptionLimitLike).query(() => 'query'),
  limitedSubscription: t.procedure.use(subscriptionLimitLike).subscription(async function* () {
    yield 1;
  }),
  lazy: experimental_lazy(async () => t.router({ inner: t.procedure.query(() => 'lazy') })),
});

const failed: ProcedureInternalsCheck = { ok: false, version: 'test', reason: 'test' };

/** A call's outcome, comparable across paths: its data, or its error's public parts. */
async function outcome(run: Promise<unknown>) {
  try {
    return { data: await run };
  } catch (error) {
    const e = error as TRPCError;
    return {
      error: {
        isTRPCError: e instanceof TRPCError,
        code: e.code,
        message: e.message,
        cause: (e.cause as Error | undefined)?.message,
      },
    };
  }
}

interface Call {
  path: string;
  type: ProcedureType;
  input?: unknown;
  ctx?: Ctx;
}

/** Calls through the runner (`check` picks the path) and counts reads of `signal`. */
function viaRunner(call: Call, check: ProcedureInternalsCheck = procedureInternalsCheck) {
  const controller = new AbortController();
  const reads = { signal: 0 };
  const run = callProcedure(
    router,
    {
      path: call.path,
      type: call.type,
      ctx: call.ctx ?? { user: 'ada' },
      getRawInput: async () => call.input,
      batchIndex: 0,
      get signal() {
        reads.signal++;
        return controller.signal;
      },
    },
    check,
  );
  return { run, reads };
}

/** Calls through tRPC's own `callTRPCProcedure`, as the Duplex handler did before the runner. */
function viaTrpc(call: Call) {
  return callTRPCProcedure({
    router: router as AnyRouter,
    path: call.path,
    type: call.type,
    ctx: call.ctx ?? { user: 'ada' },
    getRawInput: async () => call.input,
    batchIndex: 0,
    signal: new AbortController().signal,
  });
}

const cases: Call[] = [
  { path: 'echo', type: 'query', input: { text: 'hi' } },
  { path: 'echo', type: 'query', input: { text: 3 } },
  { path: 'tagged', type: 'query', input: { text: 'hi' } },
  { path: 'twoInputs', type: 'query', input: { text: 'hi', extra: 2 } },
  { path: 'replaced', type: 'query', input: { text: 'original' } },
  { path: 'cleared', type: 'query', input: { text: 'original' } },
  { path: 'overridden', type: 'query' },
  { path: 'rawOverridden', type: 'query', input: { text: 'original' } },
  { path: 'forgetful', type: 'query' },
  { path: 'forbidden', type: 'query' },
  { path: 'plainFailure', type: 'query' },
  { path: 'resolverThrows', type: 'mutation' },
  { path: 'badOutput', type: 'query' },
  { path: 'goodOutput', type: 'query' },
  { path: 'readsSignal', type: 'query' },
  { path: 'limited', type: 'query' },
  { path: 'missing', type: 'query' },
  { path: 'echo', type: 'mutation', input: { text: 'hi' } },
  { path: 'lazy.inner', type: 'query' },
];

describe('callProcedure', () => {
  it('passes the startup check on the installed tRPC', () => {
    expect(procedureInternalsCheck).toMatchObject({ ok: true });
  });

  for (const check of [procedureInternalsCheck, failed]) {
    const pathName = check.ok ? 'the fast path' : 'the fallback';
    it(`gives what tRPC gives for every case, on ${pathName}`, async () => {
      for (const call of cases) {
        seen = {};
        const ours = await outcome(viaRunner(call, check).run);
        const oursSeen = seen;
        seen = {};
        const theirs = await outcome(viaTrpc(call));
        expect({ call, ...ours }).toEqual({ call, ...theirs });
        expect(Object.keys(oursSeen).sort()).toEqual(Object.keys(seen).sort());
        for (const [name, value] of Object.entries(seen)) {
          if (name.endsWith('.signalIsGetter')) continue;
          const { signal: oursSignal, ...oursRest } = oursSeen[name] ?? {};
          const { signal: theirsSignal, ...theirsRest } = value;
          expect(oursRest).toEqual(theirsRest);
          expect(oursSignal instanceof AbortSignal).toBe(theirsSignal instanceof AbortSignal);
        }
      }
    });
  }

  it('gives each middleware the options tRPC gives it, with signal a getter on the fast path', async () => {
    seen = {};
    await viaRunner({ path: 'tagged', type: 'query', input: { text: 'hi' } }).run;
    const ours = seen;
    seen = {};
    await viaTrpc({ path: 'tagged', type: 'query', input: { text: 'hi' } });
    expect(Object.keys(ours.addTag ?? {}).sort()).toEqual(Object.keys(seen.addTag ?? {}).sort());
    expect(Object.keys(ours.addTag ?? {}).sort()).toEqual([
      'batchIndex',
      'ctx',
      'getRawInput',
      'input',
      'meta',
      'next',
      'path',
      'router',
      'signal',
      'type',
    ]);
    expect(ours.addTag?.meta).toEqual({ label: 'tagged' });
    expect(ours['addTag.signalIsGetter']?.value).toBe(true);
    expect(seen['addTag.signalIsGetter']?.value).toBe(false);
  });

  it('keeps signal an own, enumerable, assignable option: spreads and assignments see it', async () => {
    const spreading = t.procedure
      .use((opts) => {
        const copy = { ...opts };
        (opts as { signal: unknown }).signal = 'assigned';
        return opts.next({ ctx: { tag: `${copy.signal instanceof AbortSignal}/${opts.signal}` } });
      })
      .query(({ ctx }) => ctx.tag);
    const spreadingRouter = t.router({ spreading });
    const { run, reads } = (() => {
      const counted = { signal: 0 };
      const controller = new AbortController();
      return {
        reads: counted,
        run: callProcedure(spreadingRouter, {
          path: 'spreading',
          type: 'query',
          ctx: { user: 'ada' },
          getRawInput: async () => undefined,
          batchIndex: 0,
          get signal() {
            counted.signal++;
            return controller.signal;
          },
        }),
      };
    })();
    expect(await run).toBe('true/assigned');
    expect(reads.signal).toBe(1);
  });

  it('merges ctx without changing the caller’s, as tRPC does', async () => {
    const ctx: Ctx = { user: 'ada' };
    const { run } = viaRunner({ path: 'tagged', type: 'query', input: { text: 'hi' }, ctx });
    expect(await run).toEqual({
      ctx: { user: 'ada', tag: 'tagged' },
      input: { text: 'hi' },
    });
    expect(ctx).toEqual({ user: 'ada' });
  });

  it('hands a failed step to the middleware before it as an error result with the marker', async () => {
    seen = {};
    await outcome(viaRunner({ path: 'forbidden', type: 'query' }).run);
    expect(seen.inspectsFailure).toEqual({
      ok: false,
      marker: 'middlewareMarker',
      isTRPCError: true,
      code: 'FORBIDDEN',
    });
    seen = {};
    await outcome(viaRunner({ path: 'resolverThrows', type: 'mutation' }).run);
    expect(seen.inspectsFailure).toMatchObject({ ok: false, code: 'INTERNAL_SERVER_ERROR' });
  });

  it('reads the signal only when the procedure does', async () => {
    const ignoring = viaRunner({ path: 'ignoresSignal', type: 'mutation' });
    expect(await ignoring.run).toBe('ignored');
    expect(ignoring.reads.signal).toBe(0);
    const reading = viaRunner({ path: 'readsSignal', type: 'query' });
    expect(await reading.run).toBe(false);
    expect(reading.reads.signal).toBe(1);
    // tRPC's own caller reads it once per step whatever the procedure does.
    const fallback = viaRunner({ path: 'ignoresSignal', type: 'mutation' }, failed);
    expect(await fallback.run).toBe('ignored');
    expect(fallback.reads.signal).toBeGreaterThan(0);
  });

  it('leaves marked middlewares out of queries and runs them for subscriptions', async () => {
    limitRuns = 0;
    expect(await viaRunner({ path: 'limited', type: 'query' }).run).toBe('query');
    expect(limitRuns).toBe(0);
    const iterable = (await viaRunner({ path: 'limitedSubscription', type: 'subscription' })
      .run) as AsyncIterable<number>;
    expect(limitRuns).toBe(1);
    const items: number[] = [];
    for await (const item of iterable) items.push(item);
    expect(items).toEqual([1]);
    // tRPC's own caller runs it for every call.
    limitRuns = 0;
    await viaRunner({ path: 'limited', type: 'query' }, failed).run;
    expect(limitRuns).toBe(1);
  });
});

describe('planOf', () => {
  it('plans a procedure built by tRPC, without its subscription-only middlewares for queries', () => {
    const plan = planOf(router._def.procedures.limited);
    expect(plan?.type).toBe('query');
    expect(plan?.chain).toHaveLength(1);
    expect(planOf(router._def.procedures.limitedSubscription)?.chain).toHaveLength(2);
    expect(planOf(router._def.procedures.tagged)?.meta).toEqual({ label: 'tagged' });
  });

  it('leaves out the middlewares its caller handles, for every type, and tRPC runs them', async () => {
    let handledRuns = 0;
    const handled = t.middleware(
      markRunnerHandled(async ({ next }) => {
        handledRuns++;
        return next();
      }),
    );
    const query = t.procedure.use(handled).query(() => 'ok');
    const subscription = t.procedure.use(handled).subscription(async function* () {});
    expect(planOf(query)?.chain).toHaveLength(1);
    expect(planOf(subscription)?.chain).toHaveLength(1);
    const handledRouter = t.router({ query });
    const call = {
      path: 'query',
      type: 'query' as const,
      ctx: {},
      batchIndex: 0,
      signal: undefined,
    };
    const getRawInput = async () => undefined;
    await expect(callProcedure(handledRouter, { ...call, getRawInput })).resolves.toBe('ok');
    expect(handledRuns).toBe(0);
    await expect(callProcedure(handledRouter, { ...call, getRawInput }, failed)).resolves.toBe(
      'ok',
    );
    expect(handledRuns).toBe(1);
  });

  it('leaves to tRPC what it does not know: failed checks, callers, other shapes', () => {
    expect(planOf(router._def.procedures.echo, failed)).toBeNull();
    const withCaller = t.procedure
      .experimental_caller(async ({ invoke, _def }) =>
        invoke({
          path: '',
          ctx: { user: 'ada' },
          getRawInput: async () => undefined,
          type: _def.type,
          signal: undefined,
          batchIndex: 0,
        }),
      )
      .query(() => 'via caller');
    expect(planOf(withCaller)).toBeNull();
    expect(planOf(() => null)).toBeNull();
    const renamed = t.procedure.query(() => 'x');
    const def = (renamed as unknown as { _def: { middlewares: unknown[] } })._def;
    const lookalike = Object.assign(() => null, {
      _def: { ...def, middlewares: [...def.middlewares.slice(0, -1), async () => null] },
    });
    expect(planOf(lookalike)).toBeNull();
  });
});

describe('checkProcedureInternals', () => {
  const probe = t.procedure
    .use(({ next }) => next())
    .input(z.string())
    .query(() => null);

  it('accepts the supported range and the expected shape', () => {
    expect(checkProcedureInternals({ version: '11.22.1', procedure: probe })).toMatchObject({
      ok: true,
    });
    expect(checkProcedureInternals({ version: '11.99.0', procedure: probe }).ok).toBe(true);
  });

  it('refuses the switch, versions outside the range and other shapes', () => {
    expect(
      checkProcedureInternals({ version: '11.25.2', procedure: probe, setting: 'off' }),
    ).toMatchObject({ ok: false, reason: 'DUPLEX_PROCEDURE_RUNNER=off' });
    expect(checkProcedureInternals({ version: '11.22.0', procedure: probe }).ok).toBe(false);
    expect(checkProcedureInternals({ version: '12.0.0', procedure: probe }).ok).toBe(false);
    expect(checkProcedureInternals({ version: '10.45.2', procedure: probe }).ok).toBe(false);
    const noInput = t.procedure.use(({ next }) => next()).query(() => null);
    expect(checkProcedureInternals({ version: '11.25.2', procedure: noInput }).ok).toBe(false);
    expect(checkProcedureInternals({ version: '11.25.2', procedure: {} }).ok).toBe(false);
  });
});
