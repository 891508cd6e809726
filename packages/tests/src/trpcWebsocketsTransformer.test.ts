/**
 * tRPC's transformer tests that run over the WebSocket, against both Duplex handlers: the
 * `wsLink` cases of `packages/tests/server/transformer.test.ts` from trpc/trpc (main,
 * 340811ba5), on the harness in trpcPortedHarness.ts.
 */
import { type TRPCWebSocketClient, wsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { describe, expect, test, vi } from 'vitest';
import { z } from 'zod';
import { portedHandlers, trpcPortedResource } from './trpcPortedHarness';

describe.each(portedHandlers)(
  'tRPC transformer.test.ts over wsLink on the %s handler',
  (handler) => {
    test('wsLink: empty superjson up and down', async () => {
      const transformer = superjson;
      let ws: TRPCWebSocketClient | null = null;

      const t = initTRPC.create({ transformer });

      const router = t.router({
        emptyUp: t.procedure.query(() => 'hello world'),
        emptyDown: t.procedure.input(z.string()).query(() => 'hello world'),
      });

      await using ctx = await trpcPortedResource(router, {
        handler,
        client({ wssUrl, createWSClient }) {
          ws = createWSClient({ url: wssUrl });
          return {
            links: [wsLink({ client: ws, transformer })],
          };
        },
      });
      const res1 = await ctx.client.emptyUp.query();
      expect(res1).toBe('hello world');
      const res2 = await ctx.client.emptyDown.query('');
      expect(res2).toBe('hello world');
    });

    describe('transformer on router', () => {
      test('ws', async () => {
        let wsClient: TRPCWebSocketClient | null = null;
        const date = new Date();
        const fn = vi.fn();
        const transformer = superjson;

        const t = initTRPC.create({ transformer });

        const router = t.router({
          hello: t.procedure.input(z.date()).query(({ input }) => {
            fn(input);
            return input;
          }),
        });

        await using ctx = await trpcPortedResource(router, {
          handler,
          client({ wssUrl, createWSClient }) {
            wsClient = createWSClient({
              url: wssUrl,
            });
            return {
              links: [wsLink({ client: wsClient, transformer })],
            };
          },
        });

        const res = await ctx.client.hello.query(date);
        expect(res.getTime()).toBe(date.getTime());
        expect((fn.mock.calls[0]![0]! as Date).getTime()).toBe(date.getTime());

        await wsClient!.close();
      });

      test('subscription', async () => {
        let wsClient: TRPCWebSocketClient | null = null;
        const date = new Date();
        const fn = vi.fn();
        const transformer = superjson;

        const t = initTRPC.create({ transformer });

        const router = t.router({
          hello: t.procedure.input(z.date()).subscription(({ input }) => {
            return observable<Date>((emit) => {
              fn(input);
              emit.next(input);
              return () => {
                // noop
              };
            });
          }),
        });

        await using ctx = await trpcPortedResource(router, {
          handler,
          client({ wssUrl, createWSClient }) {
            wsClient = createWSClient({
              url: wssUrl,
            });
            return {
              links: [wsLink({ client: wsClient, transformer })],
            };
          },
        });

        const data = await new Promise<Date>((resolve) => {
          const subscription = ctx.client.hello.subscribe(date, {
            onData: (data) => {
              subscription.unsubscribe();
              resolve(data);
            },
          });
        });

        expect(data.getTime()).toBe(date.getTime());
        expect((fn.mock.calls[0]![0]! as Date).getTime()).toBe(date.getTime());

        await wsClient!.close();
      });
    });
  },
);
