/**
 * The cost of the HTTP/SSE fallback against the WebSocket, on this machine: a Duplex server in
 * a child process, one client in this one, forced onto each transport in turn.
 * - round trip: sequential queries (~100 B), p50 and p99;
 * - events/s: one subscriber, events published as fast as the server can, until all arrive.
 * Run: npm run bench:fallback
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDuplexClient } from '@duplex/client';
import { createDuplexServer, initDuplex, streamChannel } from '@duplex/server';
import { z } from 'zod';

const duplex = initDuplex<{ id: string }>();
const router = duplex.router({
  echo: duplex.procedure.input(z.object({ text: z.string() })).query(({ input }) => input),
  burst: duplex.procedure
    .input(z.object({ count: z.number().int().max(100_000) }))
    .mutation(async ({ ctx, input }) => {
      for (let n = 0; n < input.count; n++) await ctx.broker.publish('bench', { n });
      return { published: input.count };
    }),
  onBench: duplex.procedure
    .input(z.object({ lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<{ n: number }>(ctx.broker, 'bench', { lastEventId: input.lastEventId, signal }),
    ),
});
type Router = typeof router;

if (process.argv[2] === 'server') {
  const server = createDuplexServer({
    router,
    authenticate: () => ({ user: { id: 'bench' } }),
    limits: { callsPerSecond: 1e9, burstCalls: 1e9 },
  });
  const { port } = await server.listen(0);
  process.send?.({ port });
} else {
  const child = fork(fileURLToPath(import.meta.url), ['server'], {
    execArgv: ['--import', 'tsx', '--conditions=@duplex/source'],
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m) => resolve((m as { port: number }).port)),
  );
  const percentile = (values: number[], p: number) =>
    [...values].sort((a, b) => a - b)[
      Math.min(values.length - 1, Math.floor((p / 100) * values.length))
    ]!;
  const rows: string[] = [];
  for (const transport of ['websocket', 'http'] as const) {
    const client = createDuplexClient<Router>({
      url: `ws://127.0.0.1:${port}/trpc`,
      token: 'bench',
      transport,
    });
    const text = 'x'.repeat(100);
    for (let i = 0; i < 200; i++) await client.echo.query({ text });
    const times: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const started = performance.now();
      await client.echo.query({ text });
      times.push(performance.now() - started);
    }
    // Below the memory broker's 10,000-event queue per subscriber: a slower consumer past it
    // would get a gap, not every event.
    const count = 5_000;
    let received = 0;
    let done: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const sub = client.onBench.subscribe(
      {},
      {
        onData: () => {
          if (++received === count) done();
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = performance.now();
    await client.burst.mutate({ count });
    await Promise.race([
      all,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${transport}: ${received}/${count} in 60 s`)), 60_000),
      ),
    ]);
    const seconds = (performance.now() - started) / 1000;
    sub.unsubscribe();
    rows.push(
      `| ${transport} | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} | ${Math.round(count / seconds).toLocaleString('en-US')} |`,
    );
    await client.$close();
  }
  console.log('| transport | round trip p50 (ms) | p99 (ms) | events/s to one subscriber |');
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  child.kill();
}
