import { EventEmitter, on } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { streamChannel } from '@duplex/server';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { tracked } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { type ConformanceRouter, handlers, startConformanceServer } from './conformanceFixtures';
import { duplex, startTestServer } from './fixtures';
import { deferred, sleep } from './helpers';

/**
 * tRPC's own client, as apps on `@trpc/tanstack-react-query` keep it: `createWSClient` with its
 * default backoff (which is what decides how often it retries) and `wsLink`.
 */
function stockClient<TRouter extends AnyRouter>(
  url: string,
  connectionParams: () => Record<string, string>,
) {
  const wsClient = createWSClient({
    url,
    connectionParams,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const client = createTRPCClient<TRouter>({
    links: [wsLink({ client: wsClient, transformer: superjson })],
  });
  return { client, [Symbol.asyncDispose]: () => wsClient.close() };
}

const codeOf = (error: unknown) => (error as { data?: { code?: unknown } }).data?.code;

/**
 * tRPC's client waits 2 s before the attempt after a rejected one (`exponentialBackoff(1)`), and
 * longer after each further one; a client that does not see the rejection retries at once.
 */
const quietMs = 1_500;

describe('a stock tRPC client backs off from a refused handshake, as with tRPC’s own handler', () => {
  for (const handler of handlers) {
    it(`${handler}: fails the pending call with UNAUTHORIZED and backs off instead of retrying at once`, async () => {
      await using server = await startConformanceServer(handler);
      await using stock = stockClient<ConformanceRouter>(server.wsUrl, () => ({ token: 'bad' }));
      const error = await stock.client.echo.query({ text: 'a' }).catch((e: unknown) => e);
      expect(codeOf(error)).toBe('UNAUTHORIZED');
      await sleep(quietMs);
      const { metrics } = server.server;
      expect({ opened: metrics.connectionsOpened, refused: metrics.refusedUnauthorized }).toEqual({
        opened: 1,
        refused: 1,
      });
    });

    it(`${handler}: ends the subscription with UNAUTHORIZED and backs off when a reconnect is refused`, async () => {
      await using server = await startConformanceServer(handler, {
        // Every accepted token expires soon: the server asks for a reconnect halfway through.
        authenticate: ({ connectionParams }) =>
          connectionParams?.token === 'good'
            ? { user: { id: 'u1' }, expiresAt: Date.now() + 400 }
            : null,
        tokenRefreshLeadMs: 60_000,
      });
      let token = 'good';
      await using stock = stockClient<ConformanceRouter>(server.wsUrl, () => ({ token }));
      const errors: unknown[] = [];
      const started = deferred();
      const subscription = stock.client.forever.subscribe(undefined, {
        onStarted: () => started.resolve(),
        onError: (error) => errors.push(error),
      });
      await started.promise;
      token = 'revoked';
      await vi.waitFor(() => expect(errors.map(codeOf)).toEqual(['UNAUTHORIZED']), {
        timeout: 2_000,
      });
      subscription.unsubscribe();
      await sleep(quietMs);
      expect(server.server.metrics.refusedUnauthorized).toBe(1);
    });
  }
});

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

const events = new EventEmitter();

/** Sources that keep nothing themselves, so whatever stays alive is the handler's doing. */
const memoryRouter = duplex.router({
  onData: duplex.procedure.subscription(({ signal }) => on(events, 'data', { signal })),
  onTracked: duplex.procedure.subscription(() =>
    observable<unknown>((emit) => {
      const next = (data: { n: number }) => emit.next(tracked(String(data.n), data));
      events.on('tracked', next);
      return () => events.off('tracked', next);
    }),
  ),
  onEvent: duplex.procedure
    .input(z.object({ channel: z.string(), lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<{ n: number }>(ctx.broker, input.channel, {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
});

type MemoryRouter = typeof memoryRouter;

type MemoryServer = Awaited<ReturnType<typeof startTestServer<MemoryRouter>>>;

/**
 * Runs one subscription through a stock client, sends it two items and reports which of them
 * are freed once the client has both: tRPC's "should free data after each iteration (#6156)".
 */
async function freedAfterSending(
  handler: (typeof handlers)[number],
  subscribe: (
    client: ReturnType<typeof stockClient<MemoryRouter>>['client'],
    callbacks: { onStarted: () => void; onData: () => void },
  ) => { unsubscribe(): void },
  emit: (data: { n: number }, server: MemoryServer) => Promise<unknown> | undefined,
) {
  await using server = await startTestServer<MemoryRouter>({ router: memoryRouter, handler });
  await using stock = stockClient<MemoryRouter>(server.wsUrl, () => ({ token: 'user:alice' }));
  const onStarted = vi.fn();
  const onData = vi.fn();
  const subscription = subscribe(stock.client, { onStarted, onData });
  await vi.waitFor(() => expect(onStarted).toHaveBeenCalled());
  // A broker stream's first item is its cursor.
  const before = onData.mock.calls.length;
  const send = async (n: number) => {
    const data = { n, text: 'x'.repeat(1_000) };
    await emit(data, server);
    return new WeakRef(data);
  };
  const refs = [await send(1), await send(2)];
  await vi.waitFor(() => expect(onData).toHaveBeenCalledTimes(before + 2));
  await sleep(0);
  gc();
  const freed = refs.map((ref) => ref.deref() === undefined);
  subscription.unsubscribe();
  return freed;
}

describe('subscriptions free what they yield once it is sent', () => {
  for (const handler of handlers) {
    // tRPC's "should free data after each iteration (#6156)", on both handlers.
    it(`${handler}: frees each item of an async iterable`, async () => {
      const freed = await freedAfterSending(
        handler,
        (client, callbacks) => client.onData.subscribe(undefined, callbacks),
        (data) => {
          events.emit('data', data);
          return undefined;
        },
      );
      expect(freed).toEqual([true, true]);
    });
  }

  it('duplex: frees tracked events of an observable', async () => {
    const freed = await freedAfterSending(
      'duplex',
      (client, callbacks) => client.onTracked.subscribe(undefined, callbacks),
      (data) => {
        events.emit('tracked', data);
        return undefined;
      },
    );
    expect(freed).toEqual([true, true]);
  });

  it('duplex: frees ephemeral broker events, which no log keeps', async () => {
    const freed = await freedAfterSending(
      'duplex',
      (client, callbacks) => client.onEvent.subscribe({ channel: 'm' }, callbacks),
      (data, server) => server.broker.publish('m', data, { ephemeral: true }),
    );
    expect(freed).toEqual([true, true]);
  });
});
