import { on } from 'node:events';
import { initDuplex, streamChannel } from '@duplex/server';
import { initTRPC, TRPCError, tracked } from '@trpc/server';
import superjson from 'superjson';
import { z } from 'zod';

/** One fan-out event; `t` is the publish time on the shared monotonic clock ({@link nowMs}). */
export interface BenchEvent {
  seq: number;
  t: number;
  text: string;
}

/** The broker channel (Duplex) or room (Socket.IO) every subscriber listens on. */
export const benchChannel = 'bench';

/** The echo's input, also checked by Socket.IO's `echoAuthed` handler. */
export const echoInput = z.object({ text: z.string() });
const subscriptionInput = z.object({ lastEventId: z.string().nullish() }).optional();

/** The signed-in user on every contestant that has one: the middleware row checks it. */
export interface BenchUser {
  id: string;
}

/** The token every bench client signs in with. */
export const benchToken = 'bench';

const t = initTRPC.context<{ user: BenchUser | null }>().create({ transformer: superjson });

/**
 * The "procedure with middleware" row's middleware: an auth check that puts what it checked on
 * `ctx`, the way an app's `memberProcedure` does.
 */
const stockAuthed = t.middleware(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED' });
  return next({ ctx: { member: ctx.user } });
});

/**
 * Stock tRPC as its docs build it: an EventEmitter and `on()` per subscriber, events tracked so
 * the client resends `lastEventId`, but no log to replay from.
 */
export function createStockRouter(events: NodeJS.EventEmitter) {
  return t.router({
    echo: t.procedure.input(echoInput).query(({ input }) => ({ text: input.text })),
    echoAuthed: t.procedure
      .use(stockAuthed)
      .input(echoInput)
      .query(({ input, ctx }) => ({ text: input.text, by: ctx.member.id })),
    onEvent: t.procedure.input(subscriptionInput).subscription(async function* ({ signal }) {
      for await (const [event] of on(events, 'event', { signal })) {
        const e = event as BenchEvent;
        yield tracked(String(e.seq), e);
      }
    }),
  });
}

export type StockRouter = ReturnType<typeof createStockRouter>;

const duplex = initDuplex<BenchUser>();

/** The same auth check on Duplex (its `authenticate` already refused strangers: this re-checks). */
const duplexAuthed = duplex.middleware(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED' });
  return next({ ctx: { member: ctx.user } });
});

/** The same two procedures on Duplex, the stream backed by its broker (and so resumable). */
export const duplexRouter = duplex.router({
  echo: duplex.procedure.input(echoInput).query(({ input }) => ({ text: input.text })),
  echoAuthed: duplex.procedure
    .use(duplexAuthed)
    .input(echoInput)
    .query(({ input, ctx }) => ({ text: input.text, by: ctx.member.id })),
  onEvent: duplex.procedure
    .input(z.object({ lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<BenchEvent>(ctx.broker, benchChannel, {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
});

export type DuplexRouter = typeof duplexRouter;
