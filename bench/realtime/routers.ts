import { on } from 'node:events';
import { initDuplex, streamChannel } from '@duplex/server';
import { initTRPC, tracked } from '@trpc/server';
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

const echoInput = z.object({ text: z.string() });
const subscriptionInput = z.object({ lastEventId: z.string().nullish() }).optional();

const t = initTRPC.create({ transformer: superjson });

/**
 * Stock tRPC as its docs build it: an EventEmitter and `on()` per subscriber, events tracked so
 * the client resends `lastEventId`, but no log to replay from.
 */
export function createStockRouter(events: NodeJS.EventEmitter) {
  return t.router({
    echo: t.procedure.input(echoInput).query(({ input }) => ({ text: input.text })),
    onEvent: t.procedure.input(subscriptionInput).subscription(async function* ({ signal }) {
      for await (const [event] of on(events, 'event', { signal })) {
        const e = event as BenchEvent;
        yield tracked(String(e.seq), e);
      }
    }),
  });
}

export type StockRouter = ReturnType<typeof createStockRouter>;

const duplex = initDuplex<{ id: string }>();

/** The same two procedures on Duplex, the stream backed by its broker (and so resumable). */
export const duplexRouter = duplex.router({
  echo: duplex.procedure.input(echoInput).query(({ input }) => ({ text: input.text })),
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
