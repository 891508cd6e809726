// The router both bundle entries are typed against; only its type reaches them.
import { initDuplex } from '@duplex/server';
import { tracked } from '@trpc/server';
import { z } from 'zod';

const duplex = initDuplex<{ id: string }>();
const router = duplex.router({
  greeting: duplex.procedure
    .input(z.object({ name: z.string() }))
    .query(({ input }) => `hello ${input.name}`),
  onEvent: duplex.procedure
    .input(z.object({ lastEventId: z.string().nullish() }))
    .subscription(async function* () {
      yield tracked('1', { n: 1 });
    }),
});
export type BundleRouter = typeof router;
