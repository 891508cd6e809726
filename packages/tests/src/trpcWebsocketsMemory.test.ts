/**
 * tRPC's WebSocket memory regression test, run against both Duplex handlers: a port of
 * `packages/tests/server/websockets.memory.test.ts` from trpc/trpc (main, 340811ba5), on the
 * harness in trpcPortedHarness.ts.
 */
import { EventEmitter, on } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { wsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { describe, expect, it, vi } from 'vitest';
import { sleep } from './helpers';
import { portedHandlers, trpcPortedResource } from './trpcPortedHarness';

/**
 * tRPC runs this test under `node --expose-gc`; the flag set at runtime exposes `gc` to
 * contexts created after it, which gives the test the same collector without a CLI flag.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe.each(portedHandlers)('tRPC websockets.memory.test.ts on the %s handler', (handler) => {
  async function factory() {
    const ee = new EventEmitter();
    const t = initTRPC.create();

    const appRouter = t.router({
      onData: t.procedure.subscription(({ signal }) => on(ee, 'data', { signal })),
    });

    const opts = await trpcPortedResource(appRouter, {
      handler,
      wsClient: { retryDelayMs: () => 10 },
      client({ wsClient }) {
        return { links: [wsLink({ client: wsClient })] };
      },
    });

    return Object.assign(opts, { ee });
  }

  describe('ws subscription memory', () => {
    it('should free data after each iteration (#6156)', async () => {
      await using ctx = await factory();

      const onStartedMock = vi.fn();
      const onDataLengthMock = vi.fn();
      const subscription = ctx.client.onData.subscribe(undefined, {
        onStarted() {
          onStartedMock();
        },
        onData(data) {
          expect(Array.isArray(data)).toBe(true);
          onDataLengthMock(data.length);
        },
      });

      await vi.waitFor(() => {
        expect(onStartedMock).toHaveBeenCalled();
      });

      const refs = [emitData(), emitData()];

      await vi.waitFor(() => {
        expect(onDataLengthMock).toHaveBeenCalledTimes(2);
      });

      await sleep(0);
      gc();

      expect(refs[0]!.deref()).toBeUndefined();
      expect(refs[1]!.deref()).toBeUndefined();

      subscription.unsubscribe();

      function emitData(): WeakRef<never[]> {
        const data: never[] = [];
        const ref = new WeakRef(data);
        ctx.ee.emit('data', data);
        return ref;
      }
    });
  });
});
