import { createDuplexClient, type DuplexClientOptions } from '@duplex/client';
import {
  type Authenticate,
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  type DuplexHandlerKind,
  type DuplexServerOptions,
  initDuplex,
  streamChannel,
} from '@duplex/server';
import { type AnyRouter, TRPCError, tracked } from '@trpc/server';
import { z } from 'zod';

export interface TestUser {
  id: string;
  name: string;
}

export const duplex = initDuplex<TestUser>();

/** How often `slowMutation` ran per key, to tell a retried mutation from a single run. */
export const mutationRuns = new Map<string, number>();

/** A small app router exercising every procedure kind. */
export const appRouter = duplex.router({
  whoami: duplex.procedure.query(({ ctx }) => ctx.user),
  connectionInfo: duplex.procedure.query(({ ctx }) => ({
    id: ctx.connection.id,
    transport: ctx.connection.transport,
    open: !ctx.signal.aborted,
  })),
  echo: duplex.procedure
    .input(z.object({ text: z.string().max(10_000), at: z.date().optional() }))
    .query(({ input }) => ({ text: input.text, at: input.at ?? null, length: input.text.length })),
  slow: duplex.procedure
    .input(z.object({ ms: z.number().int().max(5_000) }))
    .query(async ({ input }) => {
      await new Promise((resolve) => setTimeout(resolve, input.ms));
      return 'done';
    }),
  slowMutation: duplex.procedure
    .input(z.object({ ms: z.number().int().max(5_000), key: z.string() }))
    .mutation(async ({ input }) => {
      mutationRuns.set(input.key, (mutationRuns.get(input.key) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, input.ms));
      return mutationRuns.get(input.key) ?? 0;
    }),
  publish: duplex.procedure
    .input(z.object({ channel: z.string(), n: z.number().int() }))
    .mutation(({ ctx, input }) => ctx.broker.publish(input.channel, { n: input.n })),
  boom: duplex.procedure.mutation(() => {
    throw new Error('secret database password is hunter2');
  }),
  forbidden: duplex.procedure.query(() => {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Not yours' });
  }),
  /** Yields every event twice, as a buggy or replaying server might. */
  repeats: duplex.procedure
    .input(z.object({ lastEventId: z.string().nullish() }))
    .subscription(async function* () {
      for (const n of [1, 1, 2, 3, 3]) yield tracked(`e${n}`, { n });
    }),
  onEvent: duplex.procedure
    .input(z.object({ channel: z.string(), lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<{ n: number }>(ctx.broker, input.channel, {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
});

export type AppRouter = typeof appRouter;

/** Accepts `token` values of the form `user:<id>`, refuses everything else. */
export const tokenAuth: Authenticate<TestUser> = ({ connectionParams, req }) => {
  const header = req.headers.authorization?.replace(/^Bearer /, '');
  const token = connectionParams?.token ?? header;
  const match = token?.match(/^user:(\w+)$/);
  return match?.[1] ? { user: { id: match[1], name: `User ${match[1]}` } } : null;
};

export type TestServerOptions = Partial<DuplexServerOptions<AppRouter>>;

/**
 * The WebSocket handler test servers use: the default unless `DUPLEX_TEST_HANDLER` names one,
 * so the integration suites run against either (`DUPLEX_TEST_HANDLER=stock npx vitest ...`).
 */
export const testHandler: DuplexHandlerKind | undefined = parseHandler(
  process.env.DUPLEX_TEST_HANDLER,
);

function parseHandler(value: string | undefined): DuplexHandlerKind | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'duplex' || value === 'stock') return value;
  throw new Error(`DUPLEX_TEST_HANDLER must be duplex or stock, not ${value}`);
}

/**
 * A Duplex server on 127.0.0.1 that can be restarted on the same port, with a broker that
 * outlives restarts (as Redis would). It serves the test `appRouter` unless given a `router`.
 */
export async function startTestServer<TRouter extends AnyRouter = AppRouter>(
  opts: Partial<DuplexServerOptions<TRouter>> = {},
) {
  const broker: Broker = opts.broker ?? createMemoryBroker();
  const make = () =>
    createDuplexServer<TRouter>({
      router: appRouter as unknown as TRouter,
      authenticate: tokenAuth as Authenticate<never>,
      onError: () => {},
      handler: testHandler,
      ...opts,
      broker,
    });
  let server = make();
  const { port } = await server.listen(0);
  const handle = {
    broker,
    port,
    get server() {
      return server;
    },
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/trpc`,
    async stop() {
      await server.close({ drainTimeoutMs: 0 });
    },
    async start() {
      server = make();
      await server.listen(port);
    },
    async restart() {
      await handle.stop();
      await handle.start();
    },
    async [Symbol.asyncDispose]() {
      await server.close({ drainTimeoutMs: 0 });
      await broker.close();
    },
  };
  return handle;
}

/** A Node client with tiny backoffs for tests. */
export function testClient(url: string, opts: Partial<DuplexClientOptions> = {}) {
  return createDuplexClient<AppRouter>({
    url,
    token: 'user:alice',
    reconnect: { delayMs: () => 10 },
    ...opts,
  });
}

/**
 * Short-lived tokens for refresh tests: `expiringAuth` accepts `<id>|<expiry epoch ms>` until
 * then, and `issuer.token` mints a new one lasting `ttlMs` each time a client asks, counting.
 */
export const expiringAuth: Authenticate<TestUser> = ({ connectionParams }) => {
  const [, id, exp] = connectionParams?.token?.match(/^(\w+)\|(\d+)$/) ?? [];
  if (!id || Number(exp) < Date.now()) return null;
  return { user: { id, name: id }, expiresAt: Number(exp) };
};
export function tokenIssuer(ttlMs: number) {
  const issuer = {
    issued: 0,
    token: async () => {
      issuer.issued++;
      return `alice|${Date.now() + ttlMs}`;
    },
  };
  return issuer;
}

/**
 * An at-least-once source: `numbers` resumes two events before the cursor, then yields three
 * new ones and waits, so a client must drop the repeats itself.
 */
export function replayingRouter() {
  const d = initDuplex<TestUser>();
  return d.router({
    numbers: d.procedure
      .input(z.object({ lastEventId: z.string().nullish() }))
      .subscription(async function* ({ input, signal }) {
        const after = Number(input.lastEventId ?? 0);
        for (let n = Math.max(1, after - 1); n <= after + 3; n++) yield tracked(String(n), { n });
        await new Promise((resolve) => signal?.addEventListener('abort', resolve));
      }),
  });
}
