/**
 * tRPC's procedure abort tests over the WebSocket, against both Duplex handlers: a port of
 * `packages/tests/server/abortQuery.test.ts` from trpc/trpc (main, 340811ba5). tRPC runs them
 * through its harness's default link (HTTP batch streaming); here the client is the harness's
 * `wsLink`, so an abort is what a WebSocket client sees.
 */
import { initTRPC } from '@trpc/server';
import { describe, expect, test } from 'vitest';
import { portedHandlers, trpcPortedResource } from './trpcPortedHarness';

const t = initTRPC.create();

const router = t.router({
  testQuery: t.procedure.query(async () => {
    return 'hello';
  }),
  testMutation: t.procedure.mutation(async () => {
    return 'hello';
  }),
});

describe.each(portedHandlers)(
  'tRPC abortQuery.test.ts over wsLink on the %s handler',
  (handler) => {
    describe('vanilla client procedure abortion', () => {
      test('query', async () => {
        const abortController = new AbortController();
        const signal = abortController.signal;

        await using ctx = await trpcPortedResource(router, { handler });

        const promise = ctx.client.testQuery.query(undefined, { signal });

        abortController.abort();

        await expect(promise).rejects.toThrowError(/aborted/);
      });

      test('mutation', async () => {
        const abortController = new AbortController();
        const signal = abortController.signal;

        await using ctx = await trpcPortedResource(router, { handler });

        const promise = ctx.client.testMutation.mutate(undefined, { signal });

        abortController.abort();

        await expect(promise).rejects.toThrowError(/aborted/);
      });
    });
  },
);
