import { createDuplexClient } from '@duplex/client';
import { isCursor } from '@duplex/protocol';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type ConformanceRouter, handlers, startConformanceServer } from './conformanceFixtures';
import { deferred } from './helpers';

/** Taken before any test fakes it, so a silent server fails the test instead of hanging it. */
const realSetTimeout = globalThis.setTimeout;

/** `promise`, or a failure after `ms` of real time. */
function within<T>(promise: Promise<T>, what: string, ms = 2_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      realSetTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * Resolves once `done` holds, polling on the real clock: `vi.waitFor` advances fake timers,
 * which would run a flush the server left on them and hide the bug.
 */
async function until(done: () => boolean, what: string, ms = 2_000): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > ms) throw new Error(`${what}: nothing after ${ms} ms`);
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a test suite that fakes timers does not stop the server', () => {
  for (const handler of handlers) {
    it(`${handler}: answers calls and events while timers are faked and after, and closes`, async () => {
      const server = await startConformanceServer(handler);
      const client = createDuplexClient<ConformanceRouter>({
        url: server.wsUrl,
        token: 'good',
        reconnect: { delayMs: () => 10 },
      });
      try {
        expect(await client.echo.query({ text: 'before' })).toEqual({ text: 'before' });
        const events: unknown[] = [];
        const started = deferred();
        const subscription = client.onEvent.subscribe(
          { channel: 'c' },
          {
            onStarted: () => started.resolve(),
            onData: ({ data }) => {
              if (!isCursor(data)) events.push(data);
            },
          },
        );
        await started.promise;

        // What a suite does for its own code, with the defaults: setImmediate, setTimeout,
        // setInterval, performance and Date all faked, and never advanced here.
        vi.useFakeTimers();
        expect(await within(client.echo.query({ text: 'faked' }), 'a call')).toEqual({
          text: 'faked',
        });
        await server.broker.publish('c', { n: 1 });
        await until(() => events.length > 0, 'an event');
        expect(events).toEqual([{ n: 1 }]);

        vi.useRealTimers();
        expect(await within(client.echo.query({ text: 'after' }), 'a call')).toEqual({
          text: 'after',
        });
        subscription.unsubscribe();

        // Every server in the process, a new one included, and tRPC's own client as well.
        await using other = await startConformanceServer(handler);
        const wsClient = createWSClient({
          url: other.wsUrl,
          connectionParams: { token: 'good' },
          WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        });
        const stock = createTRPCClient<ConformanceRouter>({
          links: [wsLink({ client: wsClient, transformer: superjson })],
        });
        expect(await within(stock.echo.query({ text: 'stock' }), 'a stock call')).toEqual({
          text: 'stock',
        });
        await wsClient.close();

        // Shutting down with a client still connected, timers faked again.
        vi.useFakeTimers();
        await within(server.server.close({ drainTimeoutMs: 50 }), 'close()');
        expect(server.server.connections).toBe(0);
      } finally {
        vi.useRealTimers();
        await client.$close();
        await within(server[Symbol.asyncDispose](), 'close()');
      }
    });
  }
});
