import { type Authenticate, initDuplex, streamChannel } from '@duplex/server';
import { z } from 'zod';

export interface DemoUser {
  name: string;
}

export const duplex = initDuplex<DemoUser>();

export const boardPost = z.object({
  clientMsgId: z.string().min(1).max(64),
  text: z.string().trim().min(1).max(500),
});

export interface BoardMessage {
  clientMsgId: string;
  author: string;
  text: string;
  at: Date;
}

export interface Tick {
  at: Date;
  connections: number;
}

const cursor = z.object({ lastEventId: z.string().nullish() });

/** Messages the board query returns to a page that just opened. */
const recentLimit = 50;

/** The demo's API: who am I, a shared board, and a server clock. */
export function createDemoRouter(stats: { connections: () => number }) {
  /** The newest board messages, oldest first; also the idempotency record of `post`. */
  const recent: BoardMessage[] = [];
  return duplex.router({
    whoami: duplex.procedure.query(({ ctx }) => ctx.user),
    stats: duplex.procedure.query(() => ({ connections: stats.connections() })),
    board: duplex.procedure.query(() => recent),
    post: duplex.procedure.input(boardPost).mutation(async ({ ctx, input }) => {
      // A retried post (same author and clientMsgId) returns the first one and publishes nothing.
      const first = recent.find(
        (m) => m.clientMsgId === input.clientMsgId && m.author === ctx.user.name,
      );
      if (first) return first;
      const message: BoardMessage = { ...input, author: ctx.user.name, at: new Date() };
      recent.push(message);
      if (recent.length > recentLimit) recent.shift();
      await ctx.broker.publish('board', message);
      return message;
    }),
    onBoard: duplex.procedure.input(cursor).subscription(({ ctx, input, signal }) =>
      streamChannel<BoardMessage>(ctx.broker, 'board', {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
    onTick: duplex.procedure
      .input(cursor)
      .subscription(({ ctx, input, signal }) =>
        streamChannel<Tick>(ctx.broker, 'ticks', { lastEventId: input.lastEventId, signal }),
      ),
  });
}

export type DemoRouter = ReturnType<typeof createDemoRouter>;

/**
 * DEVELOPMENT ONLY: trusts whatever display name the page sends. Replace it with real
 * authentication (a session cookie, a signed token) before exposing a server.
 */
export const devAuthenticate: Authenticate<DemoUser> = ({ connectionParams }) => {
  const name = connectionParams?.token?.trim();
  return name && name.length <= 32 ? { user: { name } } : null;
};
