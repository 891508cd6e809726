import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createDuplexServer } from './createDuplexServer';
import { initDuplex } from './initDuplex';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** A server whose `slowStart` subscription waits for `state.gate` before it returns. */
async function startServer() {
  const duplex = initDuplex<{ id: string }>();
  const state = { gate: deferred(), procedureRuns: 0, iterations: 0 };
  const router = duplex.router({
    slowStart: duplex.procedure.subscription(async function* () {
      state.iterations++;
      yield 1;
    }),
    gated: duplex.procedure.subscription(async () => {
      state.procedureRuns++;
      await state.gate.promise;
      return (async function* () {
        state.iterations++;
        yield 1;
      })();
    }),
    once: duplex.procedure.subscription(async function* () {
      yield 'only';
    }),
  });
  const server = createDuplexServer({
    router,
    authenticate: () => ({ user: { id: 'u' } }),
    onError: () => {},
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const socket = new WebSocket(`ws://127.0.0.1:${port}/trpc`);
  const received: { id?: unknown; result?: { type?: string; data?: unknown } }[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  await once(socket, 'open');
  return {
    state,
    metrics: server.metrics,
    socket,
    received,
    send: (frame: unknown) => socket.send(JSON.stringify(frame)),
    /** The result types received for `id`, in order. */
    typesOf: (id: number) => received.filter((m) => m.id === id).map((m) => m.result?.type),
    async [Symbol.asyncDispose]() {
      socket.terminate();
      await server.close({ drainTimeoutMs: 0 });
    },
  };
}

const start = (id: number, path: string) => ({
  id,
  method: 'subscription',
  // initDuplex serializes with superjson.
  params: { path, input: { json: null } },
});
const stop = (id: number) => ({ id, method: 'subscription.stop' });

const until = (check: () => boolean) => vi.waitFor(() => expect(check()).toBe(true));

describe('subscription stops racing the subscription', () => {
  it('answers a stop in the same frame as its start with stopped alone', async () => {
    await using t = await startServer();
    t.send([start(1, 'slowStart'), stop(1)]);
    await until(() => t.typesOf(1).length > 0);
    t.send(start(2, 'once'));
    await until(() => t.typesOf(2).includes('stopped'));
    expect(t.typesOf(1)).toEqual(['stopped']);
    expect(t.state.iterations).toBe(0);
  });

  it('answers a stop that arrives while the procedure starts with stopped, never iterating', async () => {
    await using t = await startServer();
    t.send(start(1, 'gated'));
    await until(() => t.state.procedureRuns === 1);
    t.send(stop(1));
    await until(() => t.metrics.framesIn === 2);
    // This procedure ignores its signal: what it returns once the stop came is dropped unread.
    t.state.gate.resolve();
    await until(() => t.typesOf(1).length > 0);
    t.send(start(2, 'once'));
    await until(() => t.typesOf(2).includes('stopped'));
    expect(t.typesOf(1)).toEqual(['stopped']);
    expect(t.state.iterations).toBe(0);
  });

  it('ignores a stop after the subscription ended, and lets its id be used again', async () => {
    await using t = await startServer();
    t.send(start(1, 'once'));
    await until(() => t.typesOf(1).includes('stopped'));
    t.send(stop(1));
    t.send(start(1, 'once'));
    await until(() => t.typesOf(1).filter((type) => type === 'stopped').length === 2);
    expect(t.typesOf(1)).toEqual(['started', 'data', 'stopped', 'started', 'data', 'stopped']);
  });
});
