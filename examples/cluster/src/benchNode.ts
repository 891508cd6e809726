/**
 * A Duplex node for the cross-node benchmark: `publish` and `onEvent` over the Redis broker,
 * nothing else, so the numbers are the broker's and the transport's. Env: REDIS_URL.
 * Prints `{"ready":true,"url":…}` once it listens; exits when stdin closes.
 */
import { createRedisBroker } from '@duplex/redis';
import { createDuplexServer, initDuplex, streamChannel } from '@duplex/server';
import { z } from 'zod';

const duplex = initDuplex<{ id: string }>();
const router = duplex.router({
  publish: duplex.procedure
    .input(z.object({ channel: z.string(), n: z.number().int() }))
    .mutation(({ ctx, input }) => ctx.broker.publish(input.channel, { n: input.n })),
  onEvent: duplex.procedure
    .input(z.object({ channel: z.string(), lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<{ n: number }>(ctx.broker, input.channel, {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
});
export type BenchRouter = typeof router;

const broker = await createRedisBroker({ url: process.env.REDIS_URL! });
const server = createDuplexServer({
  router,
  broker,
  authenticate: ({ connectionParams }) => ({ user: { id: connectionParams?.token ?? 'anon' } }),
  // One process holds every benchmark client, so per-connection call limits stay out of it.
  limits: { callsPerSecond: 100_000, burstCalls: 100_000 },
});
const { url } = await server.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
const stop = async () => {
  await server.close({ drainTimeoutMs: 0 });
  await broker.close();
  process.exit(0);
};
process.stdin.on('end', stop).on('close', stop).resume();
process.once('SIGTERM', stop);
