// A server for the React app (reactApp.tsx) as an app outside the Duplex repo writes it: one
// query, one mutation and one live stream, and the bundled page served as static files.
import { createDuplexServer, initDuplex, streamChannel } from '@duplex/server';
import { z } from 'zod';

const duplex = initDuplex<{ id: string }>();

export const liveRouter = duplex.router({
  greeting: duplex.procedure
    .input(z.object({ name: z.string() }))
    .query(({ input }) => ({ text: `hello ${input.name}`, at: new Date(0) })),
  announce: duplex.procedure
    .input(z.object({ text: z.string() }))
    .mutation(({ ctx, input }) => ctx.broker.publish('news', { text: input.text })),
  onNews: duplex.procedure
    .input(z.object({ lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<{ text: string }>(ctx.broker, 'news', {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
});
export type LiveRouter = typeof liveRouter;

if (process.env.STATIC_DIR) {
  const server = createDuplexServer({
    router: liveRouter,
    authenticate: () => ({ user: { id: 'web' } }),
    staticDir: process.env.STATIC_DIR,
  });
  const { url } = await server.listen(0, '127.0.0.1');
  console.log(`listening ${url}`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
