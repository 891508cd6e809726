/**
 * The app the admin test servers run (the router suite, the page suite and the cluster nodes),
 * without the page suite's build tooling, so a node process can load it.
 */
import type { createDuplexAdmin } from '@duplex/admin';
import { type DuplexInstance, type Presence, streamChannel } from '@duplex/server';
import { z } from 'zod';

/** The signed-in user of the admin test servers. */
export interface AdminTestUser {
  id: string;
  admin: boolean;
}
type User = AdminTestUser;

/**
 * The admin test servers' app: calls, failing calls, a published stream, a room with presence
 * (as the chat module has it) and the admin router.
 */
export function createAdminTestRouter(
  d: DuplexInstance<User>,
  admin: ReturnType<typeof createDuplexAdmin<User>>,
  presence: Presence,
) {
  return d.router({
    connectionId: d.procedure.query(({ ctx }) => ctx.connection.id),
    echo: d.procedure.input(z.object({ text: z.string() })).query(({ input }) => input.text),
    fail: d.procedure.mutation(() => {
      throw new Error('boom');
    }),
    publish: d.procedure
      .input(z.object({ n: z.number() }))
      .mutation(({ ctx, input }) => ctx.broker.publish('numbers', { n: input.n })),
    numbers: d.procedure
      .input(z.object({ lastEventId: z.string().nullish() }))
      .subscription(({ ctx, input, signal }) =>
        streamChannel<{ n: number }>(ctx.broker, 'numbers', {
          lastEventId: input.lastEventId,
          signal,
        }),
      ),
    /** A room as the chat module has it: present on its channel while subscribed to it. */
    room: d.procedure.input(z.object({ roomId: z.string() })).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      const channel = `room:${input.roomId}`;
      const member = { id: ctx.user.id, name: `User ${ctx.user.id}` };
      const joined = await presence.join(channel, member, ctx.connection.id);
      try {
        yield* streamChannel<unknown>(ctx.broker, channel, { signal });
      } finally {
        await joined.leave();
      }
    }),
    admin: admin.router(d),
  });
}

/** The app's router: a few procedures for the load, and the admin router under `admin`. */
export type AdminTestRouter = ReturnType<typeof createAdminTestRouter>;
